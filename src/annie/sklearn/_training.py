"""What the estimators share to train an annie model with scikit-learn's rules.

- ``annie_random_state``: run with annie's generator set from ``random_state``, then give the
  caller's generator back (a seeded ``fit`` leaves the user's random stream untouched);
- ``weighted_loss``: the training objective, sum_i w_i l_i / sum_i w_i plus the L2 penalty
  alpha / 2 * sum ||W||^2 / sum_i w_i on the weight matrices (not the biases), as scikit-learn's
  MLP defines it; targets and sample weights travel to it side by side in one array;
- ``EpochRule``: a ``fit`` callback applying scikit-learn's stopping rule after every epoch;
- ``make_optimizer``: an annie optimizer from scikit-learn's solver parameters.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable

import numpy as np

from .. import backend, optim
from ..errors import ConfigError
from ..tensor import Function, Tensor
from ..train import Callback


@contextmanager
def annie_random_state(start: dict | int):
    """Run the body with annie's generator seeded by ``start`` (an int seed or a state from
    ``backend.get_rng_state``); the dict yielded receives ``"end"``, the generator's state when
    the body finishes. The generator the caller had is put back afterwards."""
    saved = backend.get_rng_state()
    record: dict = {}
    if isinstance(start, dict):
        backend.set_rng_state(start)
    else:
        backend.manual_seed(int(start))
    try:
        yield record
    finally:
        record["end"] = backend.get_rng_state()
        backend.set_rng_state(saved)


def seed_from(random_state) -> int:
    """An int seed for annie's generator drawn from a scikit-learn ``random_state`` (None, an
    int or a ``numpy.random.RandomState``), as ``check_random_state`` reads it."""
    from sklearn.utils import check_random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def penalized_weights(model) -> list:
    """The weight matrices the L2 penalty covers: parameters named ``weight`` or ``weight_*``
    (Linear weights, recurrent weight_ih/weight_hh), never biases."""
    return [param for name, param in model.named_parameters()
            if name.rsplit(".", 1)[-1].startswith("weight")]


class HalfSquaredNorm(Function):
    """0.5 * scale * sum_k ||W_k||^2 over every input, as one op (the L2 penalty);
    dL/dW_k = scale * W_k."""

    def forward(ctx, *weights, scale=1.0):
        ctx.weights, ctx.scale = weights, scale
        total = sum(float(np.vdot(weight, weight)) for weight in weights)
        return np.asarray(0.5 * scale * total, dtype=weights[0].dtype)

    def backward(ctx, grad):
        return tuple(grad * ctx.scale * weight for weight in ctx.weights)


def weighted_loss(per_sample: Callable, n_targets: int, alpha: float, penalized: list,
                  weighted: bool):
    """The loss ``fit`` minimises: ``per_sample(prediction, target) -> Tensor (batch,)`` weighted
    by the last column of the packed target, sum_i w_i l_i / sum_i w_i, plus
    0.5 * alpha * sum ||W||^2 / sum_i w_i (scikit-learn's MLP objective). Without ``weighted``
    (every weight 1) it is the plain mean. A batch whose weights are all zero contributes
    nothing (its denominator is taken as 1)."""
    def loss(prediction, packed) -> Tensor:
        data = packed.data if isinstance(packed, Tensor) else np.asarray(packed)
        target = data[:, :n_targets]
        if weighted:
            weight = data[:, n_targets]
            total = float(weight.sum())
            denominator = total if total > 0 else 1.0
            value = (per_sample(prediction, target) * weight).sum() / denominator
        else:
            denominator = len(data)
            value = per_sample(prediction, target).mean()
        if alpha and penalized:
            value = value + HalfSquaredNorm.apply(*penalized, scale=alpha / denominator)
        return value
    return loss


def pack_targets(target: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    """Targets (n,) or (n, k) and sample weights (n,) as one float64 array (n, k + 1)."""
    target = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    return np.concatenate([target, sample_weight.reshape(-1, 1).astype(np.float64)], axis=1)


def as_columns(prediction: Tensor) -> Tensor:
    """A model output (batch,) or (batch, k) as (batch, k)."""
    return prediction.reshape(prediction.shape[0], -1) if prediction.ndim != 2 else prediction


# ----- optimizers ---------------------------------------------------------------------------
SOLVERS = tuple(optim.OPTIMIZERS)


def optimizer_spec(estimator) -> dict:
    """The optimizer an estimator's parameters describe: {"name": ..., "options": {...}}.
    ``learning_rate_init`` is the learning rate; sgd takes ``momentum`` and
    ``nesterovs_momentum``; adam, adamw and nadam take ``beta_1``, ``beta_2`` and ``epsilon``."""
    name = estimator.solver
    if not isinstance(name, str) or name.lower() not in SOLVERS:
        extra = " (lbfgs is not available: annie trains with mini-batch optimizers)" \
            if name == "lbfgs" else ""
        raise ConfigError(f"{type(estimator).__name__}: solver must be one of "
                          f"{', '.join(SOLVERS)}, got {name!r}{extra}")
    name = name.lower()
    options: dict = {"lr": float(estimator.learning_rate_init)}
    if name == "sgd":
        options.update(momentum=float(estimator.momentum),
                       nesterov=bool(estimator.nesterovs_momentum) and estimator.momentum > 0)
    elif name in ("adam", "adamw", "nadam"):
        options.update(betas=(float(estimator.beta_1), float(estimator.beta_2)),
                       eps=float(estimator.epsilon))
    return {"name": name, "options": options}


def make_optimizer(spec: dict, model):
    """The annie optimizer of ``spec`` (from :func:`optimizer_spec`) over ``model``'s parameters."""
    return optim.get_optimizer(spec["name"])(model.parameters(), **spec["options"])


# ----- the stopping rule --------------------------------------------------------------------
class EpochRule(Callback):
    """After every epoch: record ``n_iter_``, ``t_``, ``loss_`` and ``loss_curve_`` on the
    estimator and apply scikit-learn's MLP stopping rule.

    Without validation: an epoch counts as no improvement when its training loss is above
    ``best_loss_ - tol``. With validation (``early_stopping``): when its validation score
    (accuracy or R^2) is below ``best_validation_score_ + tol``; the weights of the best score are
    kept. Training stops once more than ``n_iter_no_change`` epochs in a row did not improve.
    """

    def __init__(self, estimator, n_train: int, validation: tuple | None, can_stop: bool):
        self.estimator = estimator
        self.n_train = n_train
        self.validation = validation
        self.can_stop = can_stop
        self.best_state = None
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        est = self.estimator
        loss = float(logs["loss"])
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        tol = float(est.tol)
        loss_improved = not loss > est.best_loss_ - tol
        est.best_loss_ = min(est.best_loss_, loss)
        if self.validation is not None:
            score = float(est._score_arrays(*self.validation))
            est.validation_scores_.append(score)
            improved = score >= est.best_validation_score_ + tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_state = self.model.state_dict()
            what = "Validation score"
        else:
            improved = loss_improved
            what = "Training loss"
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        if not math.isfinite(loss):
            return  # TerminateOnNaN stops the run and says why
        if self.can_stop and est._no_improvement_count > est.n_iter_no_change:
            self.stopped = True
            self.state.stop(f"{what} did not improve more than tol={tol} for "
                            f"{est.n_iter_no_change} consecutive epochs")

    def on_train_end(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
