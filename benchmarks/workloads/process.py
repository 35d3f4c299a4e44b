"""Fresh-process workloads: import time, peak RSS of a short mlp-mnist training run, and the
first training step's extra time (lazy imports, numba's compiled steps loaded from its cache).

Each measurement starts a new Python interpreter so nothing already imported or allocated by
the benchmark itself is counted (the memory child is ``rss_child.py``).
"""
from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from ..harness import Settings, WorkloadResult
from .common import annie_missing, import_sklearn_mlp, import_torch

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
RSS_STEPS = 20

IMPORT_CODE = {
    "annie": "import annie",
    "torch": "import torch",
    "sklearn": "from sklearn.neural_network import MLPClassifier",
}


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def _run_child(code_or_args: list[str], extra_env: dict | None = None) -> str:
    completed = subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True,
                               env={**_child_env(), **(extra_env or {})}, cwd=str(REPO_ROOT),
                               timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child {code_or_args} failed:\n{completed.stderr[-2000:]}")
    return completed.stdout.strip().splitlines()[-1]


def import_seconds(library: str) -> float:
    """Seconds one fresh interpreter spends on the library's import statement."""
    code = ("import time; start = time.perf_counter(); " + IMPORT_CODE[library] +
            "; print(time.perf_counter() - start)")
    return float(_run_child(["-c", code]))


def run_import_time(settings: Settings, results: dict) -> WorkloadResult:
    """Median import time of annie, torch and scikit-learn's MLP, each in a fresh process."""
    result = WorkloadResult("import", "import time, fresh process", unit="s")
    libraries = ["annie"]
    if import_torch() is not None:
        libraries.append("torch")
    else:
        result.skipped["torch"] = "torch is not installed"
    if import_sklearn_mlp() is not None:
        libraries.append("sklearn")
    samples: dict[str, list[float]] = {name: [] for name in libraries}
    for _ in range(max(1, min(settings.repeats, 5))):
        for library in libraries:
            samples[library].append(import_seconds(library))
    for library, values in samples.items():
        result.samples[library] = values
        result.seconds[library] = statistics.median(values)
    return result


def peak_rss_bytes(library: str, tiny: bool, extra_env: dict | None = None) -> int:
    """Peak resident memory of a fresh process that trains the mlp-mnist network briefly."""
    args = ["-m", "benchmarks.workloads.rss_child", library, str(RSS_STEPS)]
    if tiny:
        args.append("--tiny")
    return int(json.loads(_run_child(args, extra_env))["peak_rss_bytes"])


def run_peak_rss(settings: Settings, results: dict) -> WorkloadResult:
    """Peak RSS of a 20-step mlp-mnist training run, annie vs torch (lower is better)."""
    result = WorkloadResult("peak-rss", f"peak RSS (MB), {RSS_STEPS}-step mlp-mnist training, "
                                        "fresh process", unit="MB")
    reason = annie_missing("nn.ReLU", "losses.cross_entropy", "optim.Adam")
    if reason:
        result.skipped["annie"] = reason
        return result
    libraries = ["annie"] + (["torch"] if import_torch() is not None else [])
    if len(libraries) == 1:
        result.skipped["torch"] = "torch is not installed"
    for library in libraries:
        value = peak_rss_bytes(library, settings.tiny) / 2 ** 20
        result.samples[library] = [value]
        result.seconds[library] = value
    # annie on NumPy alone: numba (the fast extra), once loaded, holds about 120 MB by itself
    result.extra["note_numpy_only_mb"] = round(
        peak_rss_bytes("annie", settings.tiny, {"ANNIE_NUMBA": "0"}) / 2 ** 20, 1)
    return result


def first_step_extra(tiny: bool, extra_env: dict) -> tuple[float, bool]:
    """(first training step - second step) seconds of the lstm workload in a fresh process, and
    whether the compiled recurrent steps were used."""
    args = ["-m", "benchmarks.workloads.first_step_child"] + (["--tiny"] if tiny else [])
    report = json.loads(_run_child(args, extra_env))
    return report["first"] - report["second"], report["compiled"]


def run_first_step(settings: Settings, results: dict) -> WorkloadResult:
    """How much longer the first training step of a run takes than the second (fresh process,
    lstm workload): with the compiled recurrent steps (numba, its cache warm: the usual case),
    on the NumPy steps (ANNIE_NUMBA=0), and with a cold numba cache (compiling; once per
    machine and annie version)."""
    result = WorkloadResult("first-step", "first minus second training step, lstm workload, "
                                          "fresh process", unit="s")
    reason = annie_missing("nn.LSTM", "losses.cross_entropy", "optim.Adam")
    if reason:
        result.skipped["annie"] = reason
        return result
    repeats = max(1, min(settings.repeats, 5))
    first_step_extra(settings.tiny, {})  # fills numba's cache when it is installed
    numpy_steps = [first_step_extra(settings.tiny, {"ANNIE_NUMBA": "0"})[0]
                   for _ in range(repeats)]
    warm = [first_step_extra(settings.tiny, {}) for _ in range(repeats)]
    result.seconds["annie"] = statistics.median(value for value, _ in warm)
    result.samples["annie"] = [value for value, _ in warm]
    result.extra["note_numpy_steps_s"] = statistics.median(numpy_steps)
    result.extra["note_compiled"] = warm[0][1]
    if warm[0][1]:
        with tempfile.TemporaryDirectory() as cache:
            cold, _ = first_step_extra(settings.tiny, {"NUMBA_CACHE_DIR": cache})
        result.extra["note_cold_cache_s"] = cold
    return result
