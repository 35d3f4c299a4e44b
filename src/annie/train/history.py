"""``History``: what ``fit`` records, one value per epoch, with CSV export and a plot."""
from __future__ import annotations

import io
import math
import os

import numpy as np

from ..errors import ConfigError
from .callbacks import Callback

#: logged values that are not a loss or a metric (never drawn as "the metric")
BOOKKEEPING = ("lr", "grad_norm", "grad_norm_max", "clipped_fraction")


class History(Callback):
    """Per-epoch records of a training run; the first callback of every ``fit``.

    ``history`` maps a name (``loss``, ``val_loss``, each metric and ``val_`` metric, ``lr``,
    and with gradient clipping ``grad_norm``, ``grad_norm_max`` and ``clipped_fraction``) to a
    list with one value per epoch. ``stop_reason`` says why training ended early (or is None).
    """

    sees_stopped_epochs = True  # the epoch a stop cut short is recorded with its good batches

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None
        self.params: dict = {}

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Record the epoch's logs."""
        self.append(epoch, logs)

    def on_train_end(self) -> None:
        """Keep why training stopped early (None when it ran every epoch)."""
        self.stop_reason = self.state.stop_reason

    def append(self, epoch: int, logs: dict) -> None:
        """Record the logs of one epoch (a missing key gets NaN so every list stays aligned)."""
        for key in logs:
            if key not in self.history:
                self.history[key] = [math.nan] * len(self.epoch)
        self.epoch.append(epoch)
        for key, values in self.history.items():
            values.append(float(logs.get(key, math.nan)))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def state_dict(self) -> dict:
        """The records as arrays (epochs int64, values float64: bit-exact), for checkpoints.
        Arrays, not lists: a checkpoint stores them as binary in one piece, so writing one
        costs little more after ten thousand epochs than after ten."""
        return {"epoch": np.array(self.epoch, dtype=np.int64),
                "history": {key: np.array(values, dtype=np.float64)
                            for key, values in self.history.items()},
                "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict) -> None:
        """Restore the records saved by :meth:`state_dict` (arrays, or lists as written by
        annie versions before arrays)."""
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.stop_reason = state.get("stop_reason")

    def csv_header(self) -> str:
        """The CSV header line ``epoch,<keys>`` (with its line break)."""
        return ",".join(["epoch", *self.history]) + "\n"

    def csv_row(self, row: int) -> str:
        """The CSV line of the ``row``-th recorded epoch (with its line break); floats are
        written with ``repr``, which reads back to the same float64."""
        values = [repr(values[row]) for values in self.history.values()]
        return ",".join([str(self.epoch[row]), *values]) + "\n"

    def to_csv_text(self) -> str:
        """The records as CSV text: a header ``epoch,<keys>`` and one row per epoch."""
        buffer = io.StringIO()
        buffer.write(self.csv_header())
        for row in range(len(self.epoch)):
            buffer.write(self.csv_row(row))
        return buffer.getvalue()

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the records to a CSV file (atomically: a temporary file renamed over ``path``)."""
        from ..io import atomic_write_text
        atomic_write_text(path, self.to_csv_text())

    def default_metric(self) -> str | None:
        """The first metric recorded (not a loss, validation value or bookkeeping), or None."""
        return next((key for key in self.history if key != "loss" and key not in BOOKKEEPING
                     and not key.startswith("val_")), None)

    def plot(self, path: str | os.PathLike | None = None, metric: str | None = None):
        """The loss curves (training and validation) and, beside them, the curves of ``metric``
        (default: the first metric recorded) against the epoch.

        Without ``path`` returns the matplotlib Figure (a notebook shows it inline); with
        ``path`` saves it there as a PNG (atomically) and returns None. Needs matplotlib
        (``pip install 'annie[plot]'``); an unrecorded ``metric`` is a ConfigError."""
        from ..diagnostics.plots import new_figure, save_figure
        if metric is None:
            metric = self.default_metric()
        elif metric not in self.history:
            raise ConfigError(f"History.plot: metric {metric!r} was not recorded; recorded: "
                              f"{sorted(self.history)}")
        names = ["loss"] if metric is None else ["loss", metric]
        figure, axes = new_figure("History.plot", 1, len(names), (5 * len(names), 3.6))
        epochs = [e + 1 for e in self.epoch]
        for axis, name in zip(axes[0], names):
            for key, style in ((name, ".-"), (f"val_{name}", ".--")):
                if key in self.history:
                    axis.plot(epochs, self.history[key], style, label=key)
            axis.set_xlabel("epoch")
            axis.set_ylabel(name)
            axis.grid(alpha=0.3)
            axis.legend()
        figure.tight_layout()
        if path is None:
            return figure
        save_figure(figure, path)
        return None
