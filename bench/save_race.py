"""Four processes save the same corpus entry at once, many times; every file must parse.

    python bench/save_race.py            # 500 trials (the acceptance figure of issue 13)
    python bench/save_race.py --trials 50

Before atomic saves, 65 of 500 trials left an unparseable file.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from mtkd.counterexamples.corpus import DEFAULT_DIR, load_entry, save
from mtkd.errors import CorruptCounterexampleError
from mtkd.operators import load_operator
from mtkd.theorems import get_property

GOOD = DEFAULT_DIR / "geometric__axiom3.json"


def _writer(directory: str, barrier: "multiprocessing.synchronize.Barrier") -> None:
    entry = load_entry(GOOD)
    op, prop = load_operator("geometric"), get_property("axiom3")
    barrier.wait()
    save(op, prop, entry.counterexample, 0, Path(directory))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("fork")  # the writers run no user code
    broken = 0
    start = time.perf_counter()
    for _ in range(args.trials):
        with tempfile.TemporaryDirectory() as d:
            barrier = ctx.Barrier(args.writers)
            procs = [ctx.Process(target=_writer, args=(d, barrier)) for _ in range(args.writers)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            files = [p for p in Path(d).iterdir()]
            try:
                assert len(files) == 1 and files[0].suffix == ".json", files
                load_entry(files[0])
            except (AssertionError, CorruptCounterexampleError):
                broken += 1
    print(f"{args.trials} trials of {args.writers} concurrent saves: {broken} left a broken or extra file "
          f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
