"""annie: neural networks from first principles on NumPy.

Tensors with reverse-mode autodiff, MLPs and recurrent networks (RNN, LSTM, GRU), the losses and
optimizers of the classic lecture, a training loop and a command line.
"""
import importlib as _importlib

from . import ops as _ops  # gives Tensor its operators and methods
from .backend import get_default_dtype, manual_seed, set_default_dtype
from .errors import (AnnieError, ConfigError, DataError, DTypeError, NumericalError,
                     SerializationError, ShapeError, WriteError)
from .ops import (abs, clip, concat, exp, log, matmul, maximum, minimum, split, sqrt, stack,
                  where)
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor

__version__ = "0.1.0"

# Sub-packages and the training / saving entry points load on first use, which keeps
# ``import annie`` fast: name -> (module, attribute or None for the module itself).
_LAZY = {
    "nn": ("annie.nn", None),
    "functional": ("annie.functional", None),
    "init": ("annie.init", None),
    "losses": ("annie.losses", None),
    "optim": ("annie.optim", None),
    "data": ("annie.data", None),
    "train": ("annie.train", None),
    "diagnostics": ("annie.diagnostics", None),
    "io": ("annie.io", None),
    "fit": ("annie.train", "fit"),
    "evaluate": ("annie.train", "evaluate"),
    "predict": ("annie.train", "predict"),
    "save": ("annie.io", "save"),
    "load": ("annie.io", "load"),
    "detect_anomaly": ("annie.diagnostics", "detect_anomaly"),
    "tune": ("annie.tune", None),  # a package that is also callable: annie.tune(config, ...)
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'annie' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = _importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed",
           "get_default_dtype", "set_default_dtype", "AnnieError", "ShapeError", "DTypeError",
           "ConfigError", "DataError", "SerializationError", "WriteError", "NumericalError",
           "abs", "clip", "concat", "exp", "log", "matmul", "maximum", "minimum", "split", "sqrt",
           "stack", "where", "__version__", *_LAZY]
