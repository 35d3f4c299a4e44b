"""Hyperparameter search on Optuna: ``annie.tune(config, n_trials=...)`` and ``annie tune``.

The lecture lists hyperparameter difficulty among the problems of RNNs: learning rate, layer
sizes and sequence length are hard to choose and there is no simple method. annie's answer is
a search: the ``[tune]`` table of a configuration names the keys to search and their ranges,
Optuna's samplers choose trials, its pruners stop poor trials after an epoch, and its storages
let many processes and machines share one study.

| module      | what it does                                                                 |
|-------------|------------------------------------------------------------------------------|
| ``bridge``  | the only contact with the run configuration (read, apply, train, write)      |
| ``space``   | the search parameters: float and integer ranges, choices                     |
| ``spec``    | the ``[tune]`` table: settings and parameters, checked before anything runs  |
| ``studies`` | storages, samplers, pruners; a study created once, recognised on a rerun     |
| ``trials``  | the objective, the per-epoch pruning callback, the loop of one worker        |
| ``workers`` | local worker processes with one BLAS thread each                             |
| ``report``  | best.toml, trials.csv, figures, the printed summary                           |
| ``search``  | ``tune()``: all of it together                                               |

``annie.tune`` is both this package and the function: ``annie.tune(config, ...)`` calls
:func:`annie.tune.search.tune`.
"""
from __future__ import annotations

import sys
import types

__all__ = ["tune"]


def __getattr__(name: str):
    if name == "tune":  # loaded on first use: ``annie tune``'s parser needs none of it
        from .search import tune
        return tune
    raise AttributeError(f"module 'annie.tune' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """The package ``annie.tune``, callable as the function ``annie.tune(...)``."""

    def __call__(self, *args, **kwargs):
        from .search import tune
        return tune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
