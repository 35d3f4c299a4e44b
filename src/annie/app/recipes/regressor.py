"""The tabular regressor: one or several numeric target columns, predicted in their own units
(the model ends in an inverse ``nn.Normalization`` fitted on the training targets)."""
from __future__ import annotations

import numpy as np

from ... import nn
from ...train import metrics as metric_functions
from .base import Scores, Split, plain
from .tabular import TabularRecipe, cells


class TabularRegressor(TabularRecipe):
    """MLP regressor on a table: one or several numeric target columns; mse, mae, rmse,
    huber or log_cosh."""

    task = "regression"
    target_kind = "numbers"
    losses = ("mse", "mae", "rmse", "huber", "log_cosh")
    metrics = ("mae", "rmse", "r2")
    refused_losses = {"mean_bias_error": "the mean bias error mean(y - f(x)) has no minimum "
                                         "(it falls without end as the predictions grow), so "
                                         "it cannot train a model"}
    defaults = {"loss.name": "mse", "train.metrics": ["mae", "rmse", "r2"]}
    predicts = ("a CSV table with the feature columns (by header name, any order; other "
                "columns ignored) -> one row per input row: the predicted value of each "
                "target column, in its own units")

    def encode(self, columns) -> tuple[np.ndarray, dict]:
        return columns.y.astype(np.float32), {}

    def decode(self, y: np.ndarray, info: dict) -> np.ndarray:
        return y.reshape(len(y), -1)

    def read_targets(self, table, positions: list, info: dict) -> np.ndarray:
        from . import tables
        return tables.numbers(table, positions).astype(np.float32)

    def outputs(self, split: Split) -> int:
        return len(split.info["targets"])

    def output_layers(self, split: Split) -> list:
        """An inverse Normalization: the layers before it learn the scaled targets."""
        scale = self.get("data.scale")
        if scale == "none":
            return []
        targets = split.y_train.reshape(len(split.y_train), -1)
        return [nn.Normalization(targets.shape[1], invert=True).adapt(targets, method=scale)]

    def score(self, model, split: Split) -> Scores:
        from ...train import evaluate
        test = evaluate(model, self.loss_function(), split.X_test, split.y_test,
                        batch_size=256, metrics=self.fit_metrics(split))
        mean = np.asarray(split.info["train_mean"], dtype=np.float64)
        constant = np.broadcast_to(mean, split.y_test.shape)
        baseline = {name: metric_functions.METRICS[name](constant, split.y_test)
                    for name in self.get("train.metrics")}
        return Scores(plain(test), plain(baseline), "the training mean")

    def prepare(self) -> Split:
        split = super().prepare()
        split.info["train_mean"] = split.y_train.astype(np.float64).mean(axis=0).tolist()
        return split

    def prediction_columns(self, outputs: np.ndarray, info: dict, proba: bool):
        from ...errors import ConfigError
        if proba:
            raise ConfigError("--proba: a regression model predicts values, not class "
                              "probabilities; leave out --proba")
        return list(info["targets"]), cells(outputs.reshape(len(outputs), -1))
