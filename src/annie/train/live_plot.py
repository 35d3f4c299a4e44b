"""``LivePlot``: the loss and metric curves of ``fit``, redrawn after every epoch."""
from __future__ import annotations

import os

from .callbacks import Callback
from .progress import in_notebook


class LivePlot(Callback):
    """Redraw the training curves (``History.plot``: loss and ``metric``, training and
    validation) after every epoch.

    In a Jupyter notebook the figure sits under the cell and is replaced in place (IPython's
    ``display`` with a ``display_id``); elsewhere it is written to the PNG file ``path`` each
    epoch (atomically, so a viewer never sees half a file). ``path``: default None, which means
    no file in a notebook and ``training_curves.png`` in the current folder elsewhere (a line on
    stdout says so once, at the start of training, with the file's full path); given in a
    notebook, the file is written too. ``metric``: default the first metric recorded. Drawing
    takes a fraction of a second per epoch; needs matplotlib (``annie[plot]``)."""

    DEFAULT_PATH = "training_curves.png"

    def __init__(self, path: str | os.PathLike | None = None, metric: str | None = None):
        self.path = None if path is None else os.fspath(path)
        self.metric = metric
        self.handle = None  # the notebook display being updated

    def on_train_begin(self) -> None:
        """In a notebook, reserve the place of the figure under the cell (above the progress
        bars that follow)."""
        if in_notebook():
            from IPython.display import Pretty, display
            self.handle = display(Pretty("training curves: drawn after each epoch"),
                                  display_id=True)
        elif self.path is None:
            self.path = self.DEFAULT_PATH
            print(f"LivePlot: not in a notebook, so the training curves are drawn in "
                  f"{os.path.abspath(self.path)} after each epoch", flush=True)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Redraw the curves with this epoch's values."""
        from ..diagnostics.plots import figure_png, save_figure
        figure = self.state.history.plot(metric=self.metric)
        if self.handle is not None:
            from IPython.display import Image
            self.handle.update(Image(data=figure_png(figure), format="png"))
        if self.path is not None:
            save_figure(figure, self.path)
