"""The machine's measured float32 matrix-multiply peak, and the fraction of it that the
mlp-mnist training step reaches (useful work: the matmul FLOPs of forward and backward)."""
from __future__ import annotations

import time

import numpy as np

from ..harness import Settings, WorkloadResult
from .common import import_torch
from .mlp import sizes_for


def matmul_gflops(size: int, repeats: int, library: str = "numpy") -> float:
    """Best GFLOP/s of a float32 (size x size) @ (size x size) product, 2 size^3 FLOPs each."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    if library == "torch":
        import torch
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        product = torch.matmul
    else:
        product = np.matmul
    product(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best / 1e9


def mlp_training_flops(widths: tuple, batch_size: int) -> float:
    """Matmul FLOPs of one training step: forward 2*B*in*out per layer, the weight gradient the
    same again, and the input gradient for every layer but the first (its input needs none)."""
    per_layer = [2.0 * batch_size * fan_in * fan_out
                 for fan_in, fan_out in zip(widths[:-1], widths[1:])]
    return 2 * sum(per_layer) + sum(per_layer[1:])


def run_matmul_peak(settings: Settings, results: dict) -> WorkloadResult:
    """Peak GFLOP/s (max of NumPy's and PyTorch's sgemm) and mlp-mnist's achieved fraction."""
    result = WorkloadResult("matmul-peak", "float32 matmul peak (GFLOP/s) and the fraction "
                                           "of it the mlp-mnist train step reaches", unit="GFLOP/s",
                            higher_is_better=True)
    size = 64 if settings.tiny else 2048
    repeats = max(3, settings.repeats)
    peaks = {"numpy": matmul_gflops(size, repeats)}
    if import_torch() is not None:
        peaks["torch"] = matmul_gflops(size, repeats, "torch")
    peak = max(peaks.values())
    result.extra["peak_gflops_by_library"] = {k: round(v, 2) for k, v in peaks.items()}
    result.extra["peak_gflops"] = round(peak, 2)
    mnist = results.get("mlp-mnist")
    if mnist is not None and mnist.seconds:
        widths, batch_size = sizes_for("mlp-mnist", settings)
        flops = mlp_training_flops(widths, batch_size)
        for library, seconds in mnist.seconds.items():
            achieved = flops / seconds / 1e9
            result.seconds[library] = achieved
            result.extra[f"note_{library}_fraction_of_peak"] = achieved / peak
    else:
        result.extra["note_fraction"] = "none (mlp-mnist did not run)"
    return result
