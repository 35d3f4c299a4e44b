"""Memory over long training: peak RSS of a fresh process after N training steps of the MLP and
LSTM workloads (annie only). A process that trains 20,000 steps must not hold more memory than
one that trains 1,000: any growth is a leak (graphs, tapes or buffers kept across steps).

    python -m benchmarks.workloads.memory MODEL STEPS [--tiny|--small]   (one child: JSON)

The child reports its peak RSS (VmHWM) and its current RSS at checkpoints along the run, so
the curve shows whether memory rises steadily or only once (allocator warm-up). Not a timed
test: ``benchmarks/memory.py`` runs it and prints the table.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field

from ..harness import Settings
from .process import REPO_ROOT, _child_env
from .rss_child import _peak_rss_bytes

MODELS = ("mlp", "lstm")
DEFAULT_STEPS = (1_000, 20_000)
CHECKPOINTS = 8  # current RSS recorded this many times, evenly spread over the run
SIZES = ("full", "small", "tiny")
# "small": the LSTM workload's model with fewer samples, steps and units (the same layers and
# objects per training step, at ~1/20 of the time); the MLP stays as it is
SMALL_SEQUENCE = {"batch": 16, "steps": 25, "inputs": 16, "hidden": 64, "classes": 10}


def _current_rss_bytes() -> int:
    """This process's resident memory now (VmRSS); 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def training_step(model_name: str, size: str):
    """One Adam cross-entropy step of the benchmark's mlp-mnist MLP or many-to-one LSTM
    classifier, cycling over a few fixed batches (the same models as the timed workloads)."""
    tiny = size == "tiny"
    import annie

    from . import mlp, recurrent
    from .common import adam_cross_entropy_step, random_batches
    annie.manual_seed(0)
    if model_name == "mlp":
        widths, batch_size = mlp.sizes_for("mlp-mnist", Settings(tiny=tiny))
        inputs, labels = random_batches(mlp.N_BATCHES, (batch_size, widths[0]), widths[-1],
                                        (batch_size,), 0)
        model = mlp.build_annie_mlp(widths)
    else:
        sizes = {"full": recurrent.SEQUENCE, "small": SMALL_SEQUENCE,
                 "tiny": recurrent.TINY_SEQUENCE}[size]
        inputs, labels = random_batches(recurrent.N_BATCHES,
                                        (sizes["batch"], sizes["steps"], sizes["inputs"]),
                                        sizes["classes"], (sizes["batch"],), 0)
        model = recurrent._annie_classifier("lstm", sizes)
    return adam_cross_entropy_step("annie", model, list(zip(inputs, labels)))


def train_and_report(model_name: str, steps: int, size: str = "full") -> dict:
    """Train ``steps`` steps in this process; peak RSS at the end, current RSS on the way."""
    step = training_step(model_name, size)
    marks = sorted({max(1, round(steps * (i + 1) / CHECKPOINTS)) for i in range(CHECKPOINTS)})
    curve = []
    for number in range(1, steps + 1):
        step()
        if number == marks[len(curve)]:
            curve.append([number, _current_rss_bytes()])
    return {"model": model_name, "steps": steps, "peak_rss_bytes": _peak_rss_bytes(),
            "rss_curve": curve}


def measure_in_fresh_process(model_name: str, steps: int, size: str = "full") -> dict:
    """``train_and_report`` in a new interpreter (nothing of this one counted)."""
    args = [sys.executable, "-m", "benchmarks.workloads.memory", model_name, str(steps),
            f"--{size}"]
    completed = subprocess.run(args, capture_output=True, text=True, env=_child_env(),
                               cwd=str(REPO_ROOT), timeout=6 * 3600)
    if completed.returncode != 0:
        raise RuntimeError(f"memory child {args[2:]} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


@dataclass
class Growth:
    """Peak RSS of fresh processes after each step count, for one model."""

    model: str
    peaks_mb: dict = field(default_factory=dict)  # steps -> peak RSS (MB)
    curves_mb: dict = field(default_factory=dict)  # steps -> [[step, RSS MB], ...]

    def growth_mb(self) -> float:
        """Peak after the most steps minus peak after the fewest."""
        counts = sorted(self.peaks_mb)
        return self.peaks_mb[counts[-1]] - self.peaks_mb[counts[0]]

    def to_json(self) -> dict:
        return {"model": self.model, "peak_rss_mb": self.peaks_mb,
                "growth_mb": self.growth_mb(), "rss_curve_mb": self.curves_mb}


def measure_growth(model_name: str, step_counts=DEFAULT_STEPS, size: str = "full") -> Growth:
    """One fresh process per step count."""
    growth = Growth(model_name)
    for steps in step_counts:
        report = measure_in_fresh_process(model_name, steps, size)
        growth.peaks_mb[steps] = report["peak_rss_bytes"] / 2 ** 20
        growth.curves_mb[steps] = [[number, rss / 2 ** 20] for number, rss in report["rss_curve"]]
    return growth


if __name__ == "__main__":
    chosen = [size for size in SIZES if f"--{size}" in sys.argv[3:]] or ["full"]
    if len(sys.argv) >= 3 and sys.argv[1] in MODELS and sys.argv[2].isdigit():
        print(json.dumps(train_and_report(sys.argv[1], int(sys.argv[2]), chosen[0])))
    else:
        sys.exit(f"usage: python -m benchmarks.workloads.memory {'|'.join(MODELS)} STEPS "
                 f"[--full|--small|--tiny]")
