"""Trials per minute of ``annie tune``: one worker with two BLAS threads against two workers
with one BLAS thread each, on the same search (two cores).

    python benchmarks/tune_throughput.py [--trials 16] [--repeats 3] [--json PATH]

Each run is a fresh ``annie tune`` command on a fresh SQLite study in a temporary folder: the
digits MLP (64 inputs, a hidden layer of 64 or 128, 10 classes), 8 epochs per trial, random
sampler, no pruner, so every trial does the same amount of work. Trials per minute are
measured twice: over the whole command (start-up included) and over the trials themselves
(first trial start to last trial end, from the study). The two settings alternate, and the
median of the repeats is reported.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

CONFIG = """seed = 0
[data]
dataset = "digits"
[model]
hidden = [128]
[optimizer]
lr = 0.001
[train]
epochs = 8
batch_size = 32
validation_split = 0.2
[tune]
sampler = "random"
pruner = "none"
"optimizer.lr" = { low = 1e-4, high = 1e-2, log = true }
"model.hidden" = [[64], [128]]
"""

SETTINGS = {"1 worker x 2 threads": (1, 2), "2 workers x 1 thread": (2, 1)}


def run_once(workers: int, threads: int, trials: int) -> dict:
    """One ``annie tune`` command: wall seconds and the trials' own span in seconds."""
    import optuna
    with tempfile.TemporaryDirectory(prefix="annie-tune-bench-") as folder:
        config = pathlib.Path(folder) / "bench.toml"
        config.write_text(CONFIG)
        environment = dict(os.environ)
        environment.update({name: str(threads) for name in BLAS_VARIABLES})
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT / "src"), environment.get("PYTHONPATH")]))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "annie", "tune", str(config), "--trials",
                        str(trials), "--workers", str(workers), "--out", folder, "--quiet",
                        "--no-figures"], env=environment, check=True)
        wall = time.perf_counter() - started
        study = optuna.load_study(study_name="bench",
                                  storage=f"sqlite:///{folder}/study.db")
        done = [t for t in study.trials if t.state.name == "COMPLETE"]
        if len(done) != trials:
            raise RuntimeError(f"expected {trials} complete trials, got {len(done)}")
        span = (max(t.datetime_complete for t in done) -
                min(t.datetime_start for t in done)).total_seconds()
    return {"wall_seconds": wall, "trial_seconds": span}


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison, print the table and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    arguments = parser.parse_args(argv)
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for _ in range(arguments.repeats):
        for name, (workers, threads) in SETTINGS.items():
            runs[name].append(run_once(workers, threads, arguments.trials))
    results = {"trials": arguments.trials, "repeats": arguments.repeats,
               "cpus": os.cpu_count(), "load_average": os.getloadavg(), "settings": {}}
    print(f"annie tune throughput: {arguments.trials} trials of the digits MLP (8 epochs), "
          f"median of {arguments.repeats} runs; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'setting':<22} {'trials/min (command)':>21} {'trials/min (trials)':>20}")
    for name, measured in runs.items():
        per_minute_wall = statistics.median(60 * arguments.trials / run["wall_seconds"]
                                            for run in measured)
        per_minute_trials = statistics.median(60 * arguments.trials / run["trial_seconds"]
                                              for run in measured)
        results["settings"][name] = {"trials_per_minute_command": per_minute_wall,
                                     "trials_per_minute_trials": per_minute_trials,
                                     "runs": measured}
        print(f"{name:<22} {per_minute_wall:>21.1f} {per_minute_trials:>20.1f}")
    one, two = (results["settings"][name] for name in SETTINGS)
    ratio_wall = two["trials_per_minute_command"] / one["trials_per_minute_command"]
    ratio_trials = two["trials_per_minute_trials"] / one["trials_per_minute_trials"]
    results["ratio_command"], results["ratio_trials"] = ratio_wall, ratio_trials
    print(f"2 workers x 1 thread / 1 worker x 2 threads: {ratio_wall:.2f}x (command), "
          f"{ratio_trials:.2f}x (trials)")
    if arguments.json:
        pathlib.Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
