"""Training: ``fit``/``evaluate``/``predict``, callbacks (the History, progress, checkpoints and
live plots among them), metrics and the whole-set loss."""
from . import metrics
from .callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping, FitState,
                        LearningRateScheduler, ModelCheckpoint, TerminateOnNaN)
from .checkpoint import BackupAndRestore
from .fit import evaluate, fit, predict
from .history import History
from .live_plot import LivePlot
from .progress import Progress

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "CallbackList", "FitState",
           "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN", "LearningRateScheduler",
           "CSVLogger", "BackupAndRestore", "LivePlot", "Progress", "metrics"]
from .compare import compare_mlp_rnn, count_parameters, format_comparison, plot_comparison

__all__ += ["compare_mlp_rnn", "count_parameters", "format_comparison", "plot_comparison"]
