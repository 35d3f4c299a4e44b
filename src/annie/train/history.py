"""``History``: what ``fit`` records, one value per epoch, with CSV export and a plot."""
from __future__ import annotations

import io
import math
import os

from ..errors import ConfigError


class History:
    """Per-epoch records of a training run.

    ``history`` maps a name (``loss``, ``val_loss``, each metric and ``val_`` metric, ``lr``,
    and with gradient clipping ``grad_norm``, ``grad_norm_max`` and ``clipped_fraction``) to a
    list with one value per epoch. ``stop_reason`` says why training ended early (or is None).
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None
        self.params: dict = {}

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
        """The records as plain lists (JSON-serialisable), for checkpoints."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict) -> None:
        """Restore the records saved by :meth:`state_dict`."""
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.stop_reason = state.get("stop_reason")

    def to_csv_text(self) -> str:
        """The records as CSV text: a header ``epoch,<keys>`` and one row per epoch."""
        buffer = io.StringIO()
        keys = list(self.history)
        buffer.write(",".join(["epoch", *keys]) + "\n")
        for row, epoch in enumerate(self.epoch):
            values = [repr(self.history[key][row]) for key in keys]
            buffer.write(",".join([str(epoch), *values]) + "\n")
        return buffer.getvalue()

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the records to a CSV file (atomically: a temporary file renamed over ``path``)."""
        from .files import write_text
        write_text(path, self.to_csv_text())

    def plot(self, path: str | os.PathLike, metric: str | None = None) -> None:
        """Save a PNG with the loss curves (training and validation) and, beside them, the
        curves of ``metric`` (default: the first metric recorded). Needs matplotlib."""
        pyplot = import_pyplot("History.plot")
        if metric is None:
            skip = {"loss", "val_loss", "lr", "grad_norm", "grad_norm_max", "clipped_fraction"}
            metric = next((k for k in self.history if k not in skip and not k.startswith("val_")),
                          None)
        panels = 2 if metric is not None else 1
        figure, axes = pyplot.subplots(1, panels, figsize=(5 * panels, 3.6), squeeze=False)
        epochs = [e + 1 for e in self.epoch]
        for axis, name in zip(axes[0], ["loss", metric][:panels]):
            for key, style in ((name, "-"), (f"val_{name}", "--")):
                if key in self.history:
                    axis.plot(epochs, self.history[key], style, label=key)
            axis.set_xlabel("epoch")
            axis.set_ylabel(name)
            axis.grid(alpha=0.3)
            axis.legend()
        figure.tight_layout()
        from .files import save_figure
        save_figure(figure, path)
        pyplot.close(figure)


def import_pyplot(who: str):
    """matplotlib.pyplot with the file-only Agg backend, or a clear error naming the extra."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError as error:
        raise ConfigError(f"{who} needs matplotlib, which is not installed: "
                          f"pip install 'annie[plot]'") from error
    return pyplot
