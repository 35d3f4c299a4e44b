"""The shared timing harness: interleaved repeated timing, medians, ratios, table and JSON.

Every contender of a workload (annie, PyTorch, scikit-learn) runs a block of steps in turn,
the order rotating every repeat, so that a slow spell of a shared machine hits all of them.
A workload's speed is the median over repeats of (block time / steps in the block).
"""
from __future__ import annotations

import json
import math
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Settings:
    """How hard to measure and how big the workloads are.

    ``scale`` divides the batch/time/width sizes (1 = the sizes of the issue; the smoke test uses
    a small model through ``tiny``). ``repeats`` is the number of interleaved timed blocks.
    """

    repeats: int = 7
    steps_per_block: int = 20
    warmup_blocks: int = 1
    tiny: bool = False
    seed: int = 0
    settle_seconds: float = 0.05  # idle pause before each block: the other library's
    # thread pool (OpenBLAS, OpenMP) stops spinning and does not slow the block being timed
    min_block_seconds: float = 0.2  # the warm-up block sets calls per block to last this long
    clock: str = "wall"  # "cpu": the process's CPU time, steadier on a shared machine (1 thread)


@dataclass
class Contender:
    """One library's version of a workload: ``step()`` does one unit of work (a training step,
    one prediction); ``steps`` tells how many units one call of ``step`` does."""

    name: str
    step: Callable[[], object]
    steps: int = 1


@dataclass
class WorkloadResult:
    """Medians per contender (seconds per unit, or the ``unit`` given), ratios against annie,
    and skip reasons."""

    name: str
    description: str
    unit: str = "s/step"
    higher_is_better: bool = False  # True for rates (GFLOP/s), False for times and memory
    seconds: dict = field(default_factory=dict)  # contender -> median seconds per unit
    samples: dict = field(default_factory=dict)  # contender -> every per-unit sample
    skipped: dict = field(default_factory=dict)  # contender -> reason
    extra: dict = field(default_factory=dict)
    error: str | None = None  # the exception that stopped the workload, if one did

    def ratio(self, other: str) -> float | None:
        """annie's speed / other's speed (> 1 means annie is faster); None when one is missing."""
        if "annie" not in self.seconds or other not in self.seconds:
            return None
        if self.higher_is_better:
            return self.seconds["annie"] / self.seconds[other]
        return self.seconds[other] / self.seconds["annie"]

    def to_json(self) -> dict:
        ratios = {name: self.ratio(name) for name in self.seconds if name != "annie"}
        floor = (self.seconds["torch"] / self.seconds["floor"]
                 if "floor" in self.seconds and "torch" in self.seconds else None)
        return {"name": self.name, "description": self.description, "unit": self.unit,
                "higher_is_better": self.higher_is_better,
                "median": self.seconds, "samples": self.samples,
                "ratio_annie_speed_over": {k: v for k, v in ratios.items() if v is not None},
                "ratio_floor_speed_over_torch": floor,
                "skipped": self.skipped, "extra": self.extra, "error": self.error}


def time_interleaved(contenders: list[Contender], settings: Settings) -> dict[str, list[float]]:
    """Per-unit seconds of every timed block, per contender; warm-up blocks are not kept. Each
    contender runs once untimed first, so a first call's one-off cost (loading numba's compiled
    steps: about 0.3 s) never lands in a timed block, not even with ``--tiny``'s single one."""
    for contender in contenders:
        contender.step()
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    calls = {c.name: settings.steps_per_block for c in contenders}
    clock = time.process_time if settings.clock == "cpu" else time.perf_counter
    total = settings.warmup_blocks + settings.repeats
    for repeat in range(total):
        shift = repeat % len(contenders)
        order = contenders[shift:] + contenders[:shift]
        for contender in order:
            step = contender.step
            count = calls[contender.name]
            if settings.settle_seconds > 0:
                time.sleep(settings.settle_seconds)
            start = clock()
            for _ in range(count):
                step()
            elapsed = clock() - start
            if repeat >= settings.warmup_blocks:
                samples[contender.name].append(elapsed / (count * contender.steps))
            elif elapsed < settings.min_block_seconds:  # warm-up: lengthen short blocks
                per_call = max(elapsed / count, 1e-9)
                calls[contender.name] = max(count, math.ceil(settings.min_block_seconds / per_call))
    return samples


def measure(result: WorkloadResult, contenders: list[Contender], settings: Settings) -> WorkloadResult:
    """Time the contenders interleaved and store medians and samples in ``result``."""
    if not contenders:
        return result
    samples = time_interleaved(contenders, settings)
    for name, values in samples.items():
        result.samples[name] = values
        result.seconds[name] = statistics.median(values)
    return result


def blas_description() -> dict:
    """NumPy's BLAS: its library, version and the kernels it chose ("architecture", as
    threadpoolctl reports it), and any OPENBLAS_* variables that steer that choice.

    OPENBLAS_CORETYPE forces OpenBLAS's kernels: ``Haswell`` on an AVX-512 CPU makes every
    float32 product up to 1.9x slower than the kernels OpenBLAS picks itself (BENCHMARKS.md)."""
    import os

    from threadpoolctl import threadpool_info
    info = {"blas_env": {name: value for name, value in sorted(os.environ.items())
                         if name.startswith("OPENBLAS_")}}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
            info["blas"] = (f"{pool.get('internal_api')} {pool.get('version')}, kernels "
                            f"{pool.get('architecture')}")
    return info


def machine_description() -> dict:
    """CPU model, core count, Python, NumPy/BLAS and library versions, for the report."""
    import os

    import numpy as np
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor()
    info.update(blas_description())
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = None
    try:
        import sklearn
        info["sklearn"] = sklearn.__version__
    except ImportError:
        info["sklearn"] = None
    return info


def _format_seconds(seconds: float, unit: str) -> str:
    if not unit.startswith("s/"):
        return f"{seconds:.3g} {unit}"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def format_table(results: list[WorkloadResult]) -> str:
    """A plain-text table: one row per workload, medians per contender and ratios vs annie
    (and, where a workload times annie's floor, the floor's speed over PyTorch's)."""
    with_floor = any("floor" in result.seconds for result in results)
    header = ["workload", "annie", "pytorch", "sklearn", "annie/pytorch", "annie/sklearn"]
    header += ["floor", "floor/pytorch"] if with_floor else []
    header.append("note")
    rows = [header]
    for result in results:
        cells = [result.name]
        for name in ("annie", "torch", "sklearn"):
            if name in result.seconds:
                cells.append(_format_seconds(result.seconds[name], result.unit))
            else:
                cells.append("-")
        for name in ("torch", "sklearn"):
            ratio = result.ratio(name)
            cells.append(f"{ratio:.2f}x" if ratio is not None else "-")
        if with_floor:
            floor = result.seconds.get("floor")
            cells.append("-" if floor is None else _format_seconds(floor, result.unit))
            torch_seconds = result.seconds.get("torch")
            cells.append("-" if floor is None or torch_seconds is None
                         else f"{torch_seconds / floor:.2f}x")
        notes = [f"FAILED: {result.error}"] if result.error else []
        notes += [f"{name} skipped: {reason}" for name, reason in result.skipped.items()]
        notes += [f"{key[5:]}={value:.3g}" if isinstance(value, float) else f"{key[5:]}={value}"
                  for key, value in result.extra.items() if key.startswith("note_")]
        cells.append("; ".join(notes))
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        body = "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
        lines.append((body + "  " + row[-1]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def write_json(path: str, results: list[WorkloadResult], settings: Settings) -> None:
    """Write every result plus the machine description and settings as JSON."""
    document = {"machine": machine_description(), "settings": settings.__dict__,
                "results": [result.to_json() for result in results]}
    with open(path, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
