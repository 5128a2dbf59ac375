"""Wall time and CPU seconds of one ``mtkd verify``: the tool's own process and its operator workers.

    python bench/verify_cpu.py tests/zoo_operators.py:confidence_pool [ENGINE] [MAX_K]

ENGINE defaults to ``all`` (the default options), MAX_K (also max V) to 4. The split shows where
time goes for a single-input operator: the tool around the calls, or the operator's worker.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter

from mtkd.engines import Engine
from mtkd.operators import load_operator
from mtkd.operators.sandbox import stop_all
from mtkd.verify import VerifyOptions, verify


def main() -> None:
    spec = sys.argv[1]
    engine = Engine(sys.argv[2]) if len(sys.argv) > 2 else Engine.ALL
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    start = time.perf_counter()
    report = verify(load_operator(spec), VerifyOptions(engine=engine, max_k=size, max_v=size))
    wall = time.perf_counter() - start
    stop_all()  # the workers' CPU counts once they are reaped
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"wall {wall:.1f} s, tool CPU {own.ru_utime + own.ru_stime:.1f} s, "
          f"worker CPU {workers.ru_utime + workers.ru_stime:.1f} s, load average {load}")
    print(dict(Counter(r.verdict.value for r in report.results)))


if __name__ == "__main__":
    main()
