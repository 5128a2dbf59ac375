"""Cost of running a user operator in its worker process instead of in the tool's own.

    python bench/sandbox_overhead.py [--max-inputs 2000]

Verifies the same linear pool (log-space temperature scaling) loaded by file spec, so that it runs
in a worker (the default for user code), and wrapped in a lambda, which cannot be pickled and so
runs in-process; with and without a batched form. Prints seconds per run and the load average
(the machine is shared: compare the two columns of one run, not runs of different days).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from mtkd.engines import Engine
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.sandbox import stop_all
from mtkd.verify import VerifyOptions, verify

SOURCE = '''
import numpy as np

def _tau(P, T):
    z = np.log(P) / T[..., None]
    Q = np.exp(z - z.max(axis=-1, keepdims=True))
    return Q / Q.sum(axis=-1, keepdims=True)

def single(P, T, w):
    return w @ _tau(P, T)

def batched(P, T, w):
    return np.einsum("nk,nkv->nv", w, _tau(P, T))

class WithBatched:
    def __call__(self, P, T, w):
        return single(P, T, w)
    def batched(self, P, T, w):
        return batched(P, T, w)

with_batched = WithBatched()
'''

PROPERTIES = ("axiom1", "axiom2", "axiom3", "thm-IV.9")


def _run(op, max_inputs: int) -> float:
    start = time.perf_counter()
    verify(op, VerifyOptions(seed=0, budget=600, max_inputs=max_inputs, engine=Engine.SEARCH, corpus=None,
                             properties=PROPERTIES, workers=1))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-inputs", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lin_ops.py"
        path.write_text(SOURCE)
        print(f"load average {os.getloadavg()[0]:.1f}; {len(PROPERTIES)} properties, --max-inputs {args.max_inputs}, "
              "--workers 1, engine search")
        print("| form | worker process (s) | in-process (s) | ratio |")
        print("|---|---|---|---|")
        for attr in ("with_batched", "single"):
            remote = load_operator(f"{path}:{attr}")
            obj = remote.func  # a RemoteForm; the in-process twin wraps the module object in a lambda
            import importlib.util

            spec = importlib.util.spec_from_file_location("lin_ops_local", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            target = getattr(module, attr)
            if attr == "with_batched":
                local_obj = type("Local", (), {"__call__": lambda self, P, T, w: target(P, T, w),
                                               "batched": lambda self, P, T, w: target.batched(P, T, w)})()
            else:
                local_obj = lambda P, T, w: target(P, T, w)  # noqa: E731 - unpicklable on purpose
            local = wrap_callable(local_obj, f"local {attr}")
            assert remote.sandboxed and not local.sandboxed, (obj, local)
            _run(remote, 64)  # warm both (worker start, imports)
            _run(local, 64)
            a, b = _run(remote, args.max_inputs), _run(local, args.max_inputs)
            print(f"| {'batched' if attr == 'with_batched' else 'single only'} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
    stop_all()


if __name__ == "__main__":
    main()
