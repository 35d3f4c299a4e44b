"""Figures of the diagnostics: the gradient norm per time step (log axis) and per layer.

matplotlib is imported only when a figure is drawn (with the file-only Agg backend); without it
a ``ConfigError`` says how to install it.
"""
from __future__ import annotations

import io
import os
import numpy as np

from ..errors import ConfigError


def import_pyplot(who: str):
    """matplotlib.pyplot with the Agg backend, or ConfigError naming the missing extra."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError as error:
        raise ConfigError(f"{who} needs matplotlib, which is not installed: "
                          f"pip install 'annie[plot]' (or pip install matplotlib)") from error
    return pyplot


def _save(figure, path, pyplot) -> None:
    """Write the figure atomically (annie.io): a reader never sees half a PNG."""
    from ..io import atomic_write_bytes
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
    pyplot.close(figure)


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
    pyplot = import_pyplot("plot_step_norms")
    figure, axis = pyplot.subplots(figsize=(6.4, 4.0))
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
    _save(figure, path, pyplot)


def plot_gradient_flow(result, path, title: str | None = None) -> None:
    """Save the figure of a ``GradientFlow``: ||dL/dh_t|| per step for its recurrent layers, and
    beside it (or alone, for an MLP) per-layer bars of ||dL/dW|| and ||dL/d output||."""
    recurrent = bool(result.hidden_grad_norm)
    layered = bool(result.layer_names)
    if not recurrent and not layered:
        raise ConfigError("GradientFlow.plot: nothing was measured (no layer produced a tensor)")
    pyplot = import_pyplot("GradientFlow.plot")
    panels = int(recurrent) + int(layered)
    figure, axes = pyplot.subplots(1, panels, figsize=(6.4 * panels, 4.2), squeeze=False)
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
    _save(figure, path, pyplot)
