"""``sampler = "grid"``: every combination of the parameters' values, each tried once.

The grid is a queue of waiting trials in the study, filled once by the command that creates
the study (in an order shuffled by ``sampler_seed``), so any number of processes and machines
take points from it and the search ends when it is empty. A point is never lost: a trial
taken from the queue and handed back unrun (Ctrl-C, SIGTERM, the total reached) goes back
into the queue, and a trial whose worker was killed is retried like any other. (Optuna's
GridSampler marks a point done as soon as a trial for it ends, failed ones included, so an
interrupted point would never be tried again.)
"""
from __future__ import annotations

import itertools
import random

QUEUED = "fixed_params"   # the system attribute of a trial taken from the queue


def points(tune) -> list[dict]:
    """Every combination of the parameters' values (as Optuna's parameter values)."""
    keys = [parameter.key for parameter in tune.parameters]
    values = [parameter.grid_values() for parameter in tune.parameters]
    return [dict(zip(keys, combination)) for combination in itertools.product(*values)]


def is_grid(tune) -> bool:
    """Whether the search samples a grid."""
    return tune.settings["sampler"] == "grid"


def fill(study, tune) -> int:
    """Queue every point of the grid (a new study); the number queued."""
    found = points(tune)
    random.Random(tune.settings["sampler_seed"] or 0).shuffle(found)
    for point in found:
        study.enqueue_trial(point)
    return len(found)


def queued_params(study, trial) -> dict | None:
    """The point ``trial`` was taken from the queue for, or None."""
    return study._storage.get_trial_system_attrs(trial._trial_id).get(QUEUED)


def requeue(study, trial) -> None:
    """Put the point of ``trial`` (taken from the queue, handed back unrun) back in it."""
    params = queued_params(study, trial)
    if params is not None:
        study.enqueue_trial(params)


def waiting(study) -> int:
    """Points still in the queue."""
    import optuna
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))
