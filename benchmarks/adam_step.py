"""One ``Adam.step()`` of a single float32 parameter group: annie's NumPy update against its
one-loop update (``annie/optim/fused.py``, numba), with PyTorch's Adam step beside them.

    python benchmarks/adam_step.py [--sizes 9610,131072,235146] [--repeats 9] [--threads 1]
                                   [--json PATH] [--tiny]

Each size is one parameter of that many values with a fixed gradient; each contender takes
``--repeats`` timed blocks of 300 steps, interleaved, after one untimed step, and the median
block is reported in microseconds per step. The loop runs here at every size (the library uses
it from ``fused.MIN_VALUES`` values on, where its start-up pays back; this measures why).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

STEPS_PER_BLOCK = 300


def _annie_step(size: int, use_loop: bool):
    import annie.optim.fused as fused
    from annie import optim
    from annie.nn import Parameter
    rng = np.random.default_rng(0)
    param = Parameter(rng.standard_normal(size).astype(np.float32))
    param.grad = rng.standard_normal(size).astype(np.float32)
    optimizer = optim.Adam([param], lr=1e-3)

    def step():
        os.environ["ANNIE_NUMBA"] = "1" if use_loop else "0"
        fused.MIN_VALUES = 0 if use_loop else 1 << 62
        optimizer.step()
    return step


def _torch_step(size: int):
    try:
        import torch
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    param = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(size).astype(np.float32)))
    param.grad = torch.from_numpy(rng.standard_normal(size).astype(np.float32))
    optimizer = torch.optim.Adam([param], lr=1e-3)
    return optimizer.step


def measure(size: int, repeats: int) -> dict:
    """Median microseconds per step of each contender at ``size`` values."""
    import annie.optim.fused as fused
    contenders = {"numpy update": _annie_step(size, False)}
    if fused.compiled_adam() is not None:  # numba installed
        contenders["one loop"] = _annie_step(size, True)
    torch_step = _torch_step(size)
    if torch_step is not None:
        contenders["pytorch"] = torch_step
    for step in contenders.values():
        step()  # untimed: numba's loading and compiling, PyTorch's first call
    blocks = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, step in contenders.items():
            start = time.perf_counter()
            for _ in range(STEPS_PER_BLOCK):
                step()
            blocks[name].append((time.perf_counter() - start) / STEPS_PER_BLOCK * 1e6)
    return {name: statistics.median(times) for name, times in blocks.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="9610,131072,235146")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch's and the BLAS threads")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tiny", action="store_true", help="small sizes, 1 repeat (smoke test)")
    args = parser.parse_args(argv)
    sizes = [64, 1000] if args.tiny else [int(size) for size in args.sizes.split(",")]
    repeats = 1 if args.tiny else args.repeats
    from threadpoolctl import threadpool_limits
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    import annie.optim.fused as fused
    previous, min_values = os.environ.get("ANNIE_NUMBA"), fused.MIN_VALUES
    try:
        with threadpool_limits(args.threads):
            results = {size: measure(size, repeats) for size in sizes}
    finally:
        fused.MIN_VALUES = min_values
        if previous is None:
            os.environ.pop("ANNIE_NUMBA", None)
        else:
            os.environ["ANNIE_NUMBA"] = previous
    names = list(next(iter(results.values())))
    print(f"Adam.step() of one float32 group, {args.threads} thread(s), us per step (median)")
    print("values".rjust(10) + "".join(name.rjust(15) for name in names))
    for size, times in results.items():
        print(f"{size:10d}" + "".join(f"{times[name]:15.1f}" for name in names))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({str(size): times for size, times in results.items()}, handle, indent=1)
    return results


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    main()
