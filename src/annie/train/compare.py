"""MLP vs RNN, measured: the lecture's comparison table with numbers.

``compare_mlp_rnn`` trains an MLP and a recurrent model (LSTM, GRU or tanh RNN) on a sequential
task (next-year sunspot forecasting from a window of past years) and on a static task (8x8
digits; the recurrent model reads the image row by row), and reports for each the held-out
metric, the trivial baseline, the parameter count and the training time per epoch.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from .. import backend
from ..errors import ConfigError, check_positive_int
from .fit import evaluate, fit, predict

TASKS = ("sunspots", "digits")


def count_parameters(model) -> int:
    """The number of trainable numbers in ``model`` (sum of every parameter's size)."""
    return int(sum(param.data.size for param in model.parameters()))


def _timed_fit(model, loss, X, y, epochs: int, batch_size: int, lr: float) -> float:
    from ..optim import Adam
    optimizer = Adam(model.parameters(), lr=lr)
    started = time.perf_counter()
    fit(model, loss, optimizer, X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return (time.perf_counter() - started) / epochs


def _sunspot_rows(cell: str, hidden_size: int, epochs: int, window: int,
                  test_years: int) -> list[dict]:
    from .. import nn
    from ..data import load_sunspots, make_windows
    series = load_sunspots()
    scale = float(series[:-test_years].std())
    X, y = make_windows(series / scale, window)
    cut = len(X) - test_years
    X_train, y_train, X_test, y_test = X[:cut], y[:cut], X[cut:], y[cut:]
    rows = []
    models = {"MLP": nn.Sequential(nn.Linear(window, hidden_size), nn.ReLU(),
                                   nn.Linear(hidden_size, 1), nn.Flatten(0)),
              cell.upper(): nn.SequenceRegressor(input_size=1, hidden_size=hidden_size,
                                                 cell=cell)}
    for name, model in models.items():
        seconds = _timed_fit(model, "mse", X_train, y_train, epochs, 16, 1e-2)
        rmse = float(np.sqrt(np.mean((predict(model, X_test) - y_test) ** 2))) * scale
        rows.append({"task": "sunspots (sequential)", "model": name, "metric": "RMSE",
                     "value": rmse, "parameters": count_parameters(model),
                     "seconds_per_epoch": seconds})
    persistence = float(np.sqrt(np.mean((X_test[:, -1] - y_test) ** 2))) * scale
    rows.append({"task": "sunspots (sequential)", "model": "baseline (persistence)",
                 "metric": "RMSE", "value": persistence, "parameters": 0,
                 "seconds_per_epoch": 0.0})
    return rows


def _digit_rows(cell: str, hidden_size: int, epochs: int, seed: int) -> list[dict]:
    from .. import nn
    from ..data import load_digits, train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25,
                                                        stratify=True, seed=seed)
    rows = []
    models = {"MLP": (nn.Sequential(nn.Linear(64, hidden_size), nn.ReLU(),
                                    nn.Linear(hidden_size, 10)), X_train, X_test),
              cell.upper(): (nn.SequenceClassifier(input_size=8, hidden_size=hidden_size,
                                                   num_classes=10, cell=cell),
                             X_train.reshape(-1, 8, 8), X_test.reshape(-1, 8, 8))}
    for name, (model, train_inputs, test_inputs) in models.items():
        seconds = _timed_fit(model, "cross_entropy", train_inputs, y_train, epochs, 32, 1e-2)
        accuracy = evaluate(model, None, test_inputs, y_test, metrics=["accuracy"])["accuracy"]
        rows.append({"task": "digits (static)", "model": name, "metric": "accuracy",
                     "value": float(accuracy), "parameters": count_parameters(model),
                     "seconds_per_epoch": seconds})
    majority = np.bincount(y_train).argmax()
    rows.append({"task": "digits (static)", "model": "baseline (majority class)",
                 "metric": "accuracy", "value": float(np.mean(y_test == majority)),
                 "parameters": 0, "seconds_per_epoch": 0.0})
    return rows


def compare_mlp_rnn(tasks: Sequence[str] = TASKS, cell: str = "lstm", hidden_size: int = 32,
                    epochs: int = 30, window: int = 12, test_years: int = 60,
                    seed: int = 0) -> list[dict]:
    """Train an MLP and a ``cell`` recurrent model on each task; one row per model and task:
    {"task", "model", "metric", "value", "parameters", "seconds_per_epoch"}, plus a baseline
    row per task (persistence RMSE for sunspots, majority-class accuracy for digits)."""
    unknown = [task for task in tasks if task not in TASKS]
    if unknown or not tasks:
        raise ConfigError(f"compare_mlp_rnn: tasks must be a non-empty selection of {TASKS}, "
                          f"got {list(tasks)!r}")
    if cell not in ("lstm", "gru", "rnn"):
        raise ConfigError(f"compare_mlp_rnn: cell must be 'lstm', 'gru' or 'rnn', got {cell!r}")
    for name, value in (("hidden_size", hidden_size), ("epochs", epochs), ("window", window)):
        check_positive_int(value, name, "compare_mlp_rnn")
    backend.manual_seed(seed)
    rows: list[dict] = []
    for task in tasks:
        if task == "sunspots":
            rows += _sunspot_rows(cell, hidden_size, epochs, window, test_years)
        else:
            rows += _digit_rows(cell, hidden_size, epochs, seed)
    return rows


def format_comparison(rows: list[dict]) -> str:
    """The rows as a plain-text table: task | model | metric | parameters | seconds per epoch."""
    header = ("task", "model", "held-out metric", "parameters", "s / epoch")
    lines = [(row["task"], row["model"], f"{row['metric']} {row['value']:.4g}",
              str(row["parameters"]) if row["parameters"] else "-",
              f"{row['seconds_per_epoch']:.4f}" if row["parameters"] else "-") for row in rows]
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(5)]
    def join(cells):
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths))
    return "\n".join([join(header), "-+-".join("-" * width for width in widths)]
                     + [join(line) for line in lines])


def plot_comparison(rows: list[dict], path: str) -> bool:
    """Bar charts of metric, parameters and seconds per epoch per task, saved to ``path``;
    returns False (and draws nothing) when matplotlib is not installed."""
    from ..diagnostics.plots import new_figure, save_figure
    tasks = list(dict.fromkeys(row["task"] for row in rows))
    try:
        figure, axes = new_figure("plot_comparison", len(tasks), 3, (12, 3.2 * len(tasks)))
    except ConfigError:  # matplotlib is not installed
        return False
    for line, task in enumerate(tasks):
        task_rows = [row for row in rows if row["task"] == task]
        trained = [row for row in task_rows if row["parameters"]]
        names = [row["model"].replace("baseline ", "baseline\n") for row in task_rows]
        axes[line][0].bar(names, [row["value"] for row in task_rows], color="tab:blue")
        axes[line][0].set_title(f"{task}: {task_rows[0]['metric']}")
        axes[line][1].bar([row["model"] for row in trained],
                          [row["parameters"] for row in trained], color="tab:orange")
        axes[line][1].set_title("parameters")
        axes[line][2].bar([row["model"] for row in trained],
                          [row["seconds_per_epoch"] for row in trained], color="tab:green")
        axes[line][2].set_title("seconds per epoch")
    figure.tight_layout()
    save_figure(figure, path)
    return True
