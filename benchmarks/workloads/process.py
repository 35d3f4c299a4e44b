"""Fresh-process workloads: import time, and peak RSS of a short mlp-mnist training run.

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


def _run_child(code_or_args: list[str]) -> str:
    completed = subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True,
                               env=_child_env(), cwd=str(REPO_ROOT), timeout=600)
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


def peak_rss_bytes(library: str, tiny: bool) -> int:
    """Peak resident memory of a fresh process that trains the mlp-mnist network briefly."""
    args = ["-m", "benchmarks.workloads.rss_child", library, str(RSS_STEPS)]
    if tiny:
        args.append("--tiny")
    return int(json.loads(_run_child(args))["peak_rss_bytes"])


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
    return result
