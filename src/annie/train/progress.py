"""Progress output of ``fit``, a callback: a progress bar per epoch (``verbose=1``), one line
per epoch (``verbose=2``, or ``verbose=1`` when the output is a log file or pipe rather than a
terminal), nothing (``verbose=0``).

In a Jupyter notebook the bar is tqdm's widget (``tqdm.auto``) and lines go to stdout, shown
under the cell like ``print`` output; elsewhere everything goes to stderr, so a program's own
stdout (e.g. predictions) stays clean.
"""
from __future__ import annotations

import sys
import time

from .callbacks import Callback


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where IPython's ``display`` shows rich output)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def format_logs(logs: dict) -> str:
    """``loss=0.1234 accuracy=0.9700 ...`` with four decimals (``lr`` with four digits)."""
    return " ".join(f"{key}={value:.4g}" if key == "lr" else f"{key}={value:.4f}"
                    for key, value in logs.items())


class Progress(Callback):
    """Prints what ``fit`` reports; the bar shows the running loss and metrics about 20 times
    per epoch. ``stream``: where lines and the terminal bar go (default above)."""

    sees_stopped_epochs = True  # the epoch a stop cut short is reported too

    def __init__(self, verbose: int = 1, stream=None):
        notebook = in_notebook()
        self.stream = stream if stream is not None else (sys.stdout if notebook else sys.stderr)
        terminal = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bars = verbose == 1 and (terminal or (notebook and stream is None))
        self.quiet = verbose == 0
        self.bar = None
        self.started = time.perf_counter()

    def on_train_begin(self) -> None:
        """Remember the number of batches per epoch and start the clock."""
        self.batches = self.state.settings.batches_per_epoch
        self.every = max(1, self.batches // 20)
        self.width = len(str(self.state.epochs))
        self.started = time.perf_counter()

    def _title(self, epoch: int) -> str:
        return f"epoch {epoch + 1:>{self.width}}/{self.state.epochs}"

    def on_epoch_begin(self, epoch: int) -> None:
        """Start the clock of an epoch."""
        self.started = time.perf_counter()

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Advance the bar (opened at the epoch's first batch, or where a resumed epoch
        continues), with the running loss and metrics every ``every`` batches."""
        if not self.bars:
            return
        if self.bar is None:
            from tqdm.auto import tqdm
            # position=0: the first line even when an interrupted fit left its bar open
            self.bar = tqdm(total=self.batches, initial=batch, file=self.stream, leave=True,
                            unit="batch", desc=self._title(self.state.epoch), dynamic_ncols=True,
                            position=0)
        self.bar.update(1)
        if (batch + 1) % self.every == 0:
            self.bar.set_postfix_str(format_logs(self.state.epoch_logs()), refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Close the epoch's bar with its final logs, or print its line."""
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif not self.quiet:  # (also a bar's epoch that had no batch left to run)
            seconds = time.perf_counter() - self.started
            print(f"{self._title(epoch)} {seconds:6.2f}s {format_logs(logs)}", file=self.stream,
                  flush=True)

    def on_train_end(self) -> None:
        """Say why training stopped early, if it did."""
        if self.state.stop_reason is not None and not self.quiet:
            print(f"stopped: {self.state.stop_reason}", file=self.stream, flush=True)
