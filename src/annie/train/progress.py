"""Progress output of ``fit``: a tqdm bar per epoch (``verbose=1`` on a terminal), one line per
epoch (``verbose=2``, or ``verbose=1`` when output is not a terminal), or nothing (``0``)."""
from __future__ import annotations

import sys


def format_logs(logs: dict) -> str:
    """``loss=0.1234 accuracy=0.9700 ...`` with four significant decimals."""
    return " ".join(f"{key}={value:.4g}" if key == "lr" else f"{key}={value:.4f}"
                    for key, value in logs.items())


class Progress:
    """Prints what ``fit`` reports; the bar refreshes about 20 times per epoch at most."""

    def __init__(self, verbose: int, epochs: int, batches_per_epoch: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.mode = "silent" if verbose == 0 else ("bar" if verbose == 1 and interactive
                                                    else "lines")
        self.epochs = epochs
        self.batches = batches_per_epoch
        self.every = max(1, batches_per_epoch // 20)
        self.bar = None
        self.width = len(str(epochs))

    def wants_running_values(self, batch: int) -> bool:
        """True on the batches where the bar shows running loss and metrics."""
        return self.bar is not None and (batch + 1) % self.every == 0

    def epoch_begin(self, epoch: int) -> None:
        """Start the display of one epoch."""
        if self.mode == "bar":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.batches, file=self.stream, leave=True, unit="batch",
                            desc=f"epoch {epoch + 1:>{self.width}}/{self.epochs}",
                            dynamic_ncols=True)

    def batch_end(self, batch: int, running: dict | None) -> None:
        """Advance the bar after a batch, with the running loss."""
        if self.bar is None:
            return
        self.bar.update(1)
        if running is not None:
            self.bar.set_postfix_str(format_logs(running), refresh=False)

    def epoch_end(self, epoch: int, logs: dict, seconds: float) -> None:
        """Close the epoch's display with its final logs."""
        if self.mode == "bar":
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.mode == "lines":
            print(f"epoch {epoch + 1:>{self.width}}/{self.epochs} {seconds:6.2f}s "
                  f"{format_logs(logs)}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        """Print a line (closing an open progress bar first); nothing when silent."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.mode != "silent":
            print(text, file=self.stream, flush=True)
