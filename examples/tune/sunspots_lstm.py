"""Hyperparameter difficulty, answered by a search: the sunspot LSTM preset, tuned by
``annie.tune`` on its validation windows, against its hand-set default on the held-out years.

    python examples/tune/sunspots_lstm.py [--trials 40] [--seeds 5] [--out DIR]

1. Search ``sunspots_lstm.toml``'s [tune] table (learning rate, layer count, window length,
   hidden size, batch size): TPE with median pruning, scored by the validation MSE.
2. Train the hand-set preset and the best configuration found, both on all their training
   windows (no validation split), with several seeds each, and score both on the held-out
   years beside the persistence baseline (next year = this year).
3. What the difficulty costs without a method: the search's first 10 trials are TPE's
   random start-up, i.e. configurations drawn at random from the same ranges; train each
   the same way (seed 0) and score it on the held-out years.
A rerun continues the study in DIR (its SQLite file) up to --trials.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import pathlib
import statistics
import time

import annie
from annie.app import config as run_config, run

HERE = pathlib.Path(__file__).resolve().parent
CONFIG = HERE / "sunspots_lstm.toml"
SHOWN = ("optimizer.lr", "model.num_layers", "data.window", "model.hidden_size",
         "train.batch_size")


def _value(config: dict, key: str):
    section, name = key.split(".")
    value = config[section][name]
    return 1 if value is None and name == "num_layers" else value   # unset: the class default


def _held_out(config: dict, seeds: int) -> dict:
    """Held-out RMSE (sunspot numbers) over seeds 0..seeds-1, the baseline's, and the
    model's number of parameters."""
    scores, baseline, parameters = [], None, 0
    for seed in range(seeds):
        seeded = copy.deepcopy(config)
        seeded["seed"], seeded["train"]["validation_split"] = seed, 0.0
        result = run.train_config(seeded, None, verbose=0)
        scores.append(result.scores.test["rmse"])
        baseline = result.scores.baseline["rmse"]
        parameters = sum(parameter.data.size for parameter in result.model.parameters())
    return {"mean": statistics.mean(scores), "sd": statistics.stdev(scores) if seeds > 1 else
            0.0, "scores": scores, "baseline": baseline, "parameters": parameters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join("runs", "tune-sunspots_lstm"))
    arguments = parser.parse_args()
    started = time.perf_counter()
    annie.tune(CONFIG, n_trials=arguments.trials, out_dir=arguments.out, verbose=1)
    search_minutes = (time.perf_counter() - started) / 60
    document = run_config.read_toml(CONFIG)
    document.pop("tune")
    hand_set = run_config.load_config(None, base=run_config.merge(
        run_config.default_config(), document, str(CONFIG), str(HERE)))
    tuned = run_config.load_config(os.path.join(arguments.out, "best.toml"))
    rows = []
    for name, config in (("hand-set preset", hand_set), ("tuned (best.toml)", tuned)):
        scored = _held_out(config, arguments.seeds)
        settings = ", ".join(f"{key.split('.')[1]}={_value(config, key):g}" for key in SHOWN)
        rows.append(f"| {name} | {settings} | {scored['mean']:.2f} ± {scored['sd']:.2f} "
                    f"({arguments.seeds} seeds) | {scored['baseline']:.2f} | "
                    f"{scored['parameters']:,} |")
        print(f"{name}: held-out RMSE per seed {[round(s, 2) for s in scored['scores']]}")
    random_scores = [_held_out(config, 1)["mean"] for config in
                     _random_start(hand_set, os.path.join(arguments.out, "trials.csv"))]
    print(f"random configurations: held-out RMSE {[round(s, 2) for s in random_scores]}")
    rows.append(f"| {len(random_scores)} random draws from the same ranges | (the search's "
                f"random start-up) | median {statistics.median(random_scores):.2f}, range "
                f"{min(random_scores):.2f} to {max(random_scores):.2f} (seed 0) | | |")
    print(f"\nsearch: {arguments.trials} trials in {search_minutes:.1f} min "
          f"(the study in {arguments.out})\n")
    print("| configuration | settings | held-out RMSE | persistence RMSE | parameters |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


def _random_start(base: dict, trials_csv: str, count: int = 10) -> list[dict]:
    """The configurations of the study's first ``count`` trials (TPE's random start-up)."""
    with open(trials_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [run_config.load_config(None, [f"{key}={row[key]}" for key in SHOWN], base=base)
            for row in rows]


if __name__ == "__main__":
    main()
