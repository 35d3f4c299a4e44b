"""Figures: the one place annie imports matplotlib and writes PNG files, and the diagnostics'
figures (the gradient norm per time step, on a log axis, and per layer).

matplotlib is imported only when a figure is drawn; without it a ``ConfigError`` says how to
install it. The backend is the user's where they chose one (pyplot already imported, or
``MPLBACKEND`` set, as Jupyter kernels do, so figures show inline in a notebook); otherwise
the file-only Agg backend, which needs no display and works from any thread.
"""
from __future__ import annotations

import io
import os
import sys

import numpy as np

from ..errors import ConfigError


def import_pyplot(who: str):
    """matplotlib.pyplot (Agg unless the user chose a backend, see above), or ConfigError
    naming the missing extra; ``who`` names the caller in that message."""
    try:
        import matplotlib
        if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError as error:
        raise ConfigError(f"{who} needs matplotlib, which is not installed: "
                          f"pip install 'annie[plot]' (or pip install matplotlib)") from error
    return pyplot


def new_figure(who: str, rows: int = 1, columns: int = 1, size: tuple = (6.4, 4.0)):
    """``(figure, axes)`` with a ``rows`` x ``columns`` array of axes (``size`` in inches).

    The figure is detached from pyplot's list of open figures at once: nothing shows it or
    keeps it alive behind the caller's back (a notebook displays it only when it is returned
    or passed to ``display``), and it is freed like any object."""
    pyplot = import_pyplot(who)
    figure, axes = pyplot.subplots(rows, columns, figsize=size, squeeze=False)
    pyplot.close(figure)
    return figure, axes


def figure_png(figure) -> bytes:
    """The figure as PNG bytes (110 dots per inch)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def save_figure(figure, path: str | os.PathLike) -> None:
    """Write the figure as a PNG file atomically (``annie.io``): a temporary file renamed over
    ``path``, so a reader never sees half a PNG; missing folders are created."""
    from ..io import atomic_write_bytes
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    atomic_write_bytes(path, figure_png(figure))


def _positive(values: np.ndarray) -> np.ndarray:
    """Zeros become NaN so that a log axis leaves a gap instead of failing."""
    values = np.asarray(values, dtype=np.float64).copy()
    values[values <= 0] = np.nan
    return values


def plot_step_norms(curves: dict[str, np.ndarray], path, title: str | None = None,
                    ylabel: str = "mean per-sample ||dL/dh_t||") -> None:
    """Save a PNG with one line per named curve of norms against time step t = 1..T (log y)."""
    if not curves:
        raise ConfigError("plot_step_norms: no curves to plot")
    figure, axes = new_figure("plot_step_norms")
    axis = axes[0][0]
    for label, norms in curves.items():
        axis.plot(np.arange(1, len(norms) + 1), _positive(norms), label=label)
    axis.set_yscale("log")
    axis.set_xlabel("time step t")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    save_figure(figure, path)


def plot_gradient_flow(result, path, title: str | None = None) -> None:
    """Save the figure of a ``GradientFlow``: ||dL/dh_t|| per step for its recurrent layers, and
    beside it (or alone, for an MLP) per-layer bars of ||dL/dW|| and ||dL/d output||."""
    recurrent = bool(result.hidden_grad_norm)
    layered = bool(result.layer_names)
    if not recurrent and not layered:
        raise ConfigError("GradientFlow.plot: nothing was measured (no layer produced a tensor)")
    panels = int(recurrent) + int(layered)
    figure, axes = new_figure("GradientFlow.plot", 1, panels, (6.4 * panels, 4.2))
    axes = list(axes[0])
    if recurrent:
        axis = axes.pop(0)
        for key, norms in result.hidden_grad_norm.items():
            axis.plot(np.arange(1, len(norms) + 1), _positive(norms), label=key)
        axis.set_yscale("log")
        axis.set_xlabel("time step t")
        axis.set_ylabel("mean per-sample ||dL/dh_t||")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    if layered:
        axis = axes.pop(0)
        positions = np.arange(len(result.layer_names))
        for offset, (label, values) in zip((-0.2, 0.2), (("||dL/dW||", result.weight_grad_norm),
                                                          ("||dL/d output||",
                                                           result.output_grad_norm))):
            axis.bar(positions + offset, _positive(values), 0.4, label=label)
        labels = [f"{name}\n{kind}" for name, kind in zip(result.layer_names, result.layer_types)]
        axis.set_xticks(positions)
        axis.set_xticklabels(labels, fontsize=8)
        axis.set_yscale("log")
        axis.set_ylabel("gradient norm")
        axis.grid(alpha=0.3, axis="y")
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    save_figure(figure, path)
