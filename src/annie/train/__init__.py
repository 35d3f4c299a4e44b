"""Training: ``fit``/``evaluate``/``predict``, callbacks, metrics, ``History`` and progress output."""
from . import metrics
from .callbacks import (Callback, CSVLogger, EarlyStopping, FitState, LearningRateScheduler,
                        ModelCheckpoint, TerminateOnNaN)
from .fit import evaluate, fit, predict
from .history import History

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "FitState", "EarlyStopping",
           "ModelCheckpoint", "TerminateOnNaN", "LearningRateScheduler", "CSVLogger", "metrics"]
from .compare import compare_mlp_rnn, count_parameters, format_comparison, plot_comparison

__all__ += ["compare_mlp_rnn", "count_parameters", "format_comparison", "plot_comparison"]
