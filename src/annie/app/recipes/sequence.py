"""The sequence run kinds shared part, and the two many-to-one kinds: a sequence classifier
(digits read row by row, or your own .npz of sequences) and a forecaster (sunspots, or a
numeric column of your own CSV)."""
from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np

from ... import backend, data
from ...errors import ConfigError, DataError
from ...nn import sequence_models
from ...nn.rnn import RECURRENT_INITS
from ...train import metrics as metric_functions
from ..schema import Key, fraction, positive
from .base import Prediction, Recipe, Scores, Split, finite_outputs, plain

#: [model] keys of the sequence models; a kind reads those its model class accepts
MODEL_KEYS: dict[str, Key] = {
    "model.cell": Key((str,), None, "recurrent cell: lstm, gru or rnn (tanh, or model."
                                    "nonlinearity); unset: the model's default",
                      choices=("lstm", "gru", "rnn")),
    "model.nonlinearity": Key((str,), None, "the plain RNN's activation (model.cell = 'rnn'); "
                                            "unset: tanh", choices=("tanh", "relu")),
    "model.recurrent_init": Key((str,), None, "recurrent weights' initialisation: uniform "
                                              "(PyTorch's), orthogonal, or identity (with "
                                              "relu: the IRNN); unset: uniform",
                                choices=RECURRENT_INITS),
    "model.hidden_size": Key((int,), None, "recurrent hidden state size", check=positive),
    "model.num_layers": Key((int,), None, "stacked recurrent layers", check=positive),
    "model.embedding_dim": Key((int,), None, "token embedding size (token inputs)",
                               check=positive),
    "model.bidirectional": Key((bool,), None, "read sequences in both directions"),
    "model.dropout": Key((float,), None, "dropout between stacked recurrent layers",
                         check=fraction),
}


def model_keys(model_class) -> dict[str, Key]:
    """The [model] keys that ``model_class``'s constructor accepts."""
    accepted = inspect.signature(model_class).parameters
    return {name: key for name, key in MODEL_KEYS.items() if name.split(".")[1] in accepted}


def train_count(count: int, test_size: float) -> int:
    """How many of ``count`` samples train (the rest, at least one, is held out)."""
    cut = count - max(1, round(count * test_size))
    if cut < 1:
        raise ConfigError(f"data: {count} samples leave none for training at "
                          f"data.test_size = {test_size}")
    return cut


class SequenceRecipe(Recipe):
    """Shared base of the sequence kinds: a model class from ``annie.nn.sequence_models``
    sized from the data, options from ``[model]`` (unset keys keep the class's defaults),
    data from a bundled or generated dataset (``datasets``) or a file."""

    model_class: ClassVar[type] = None

    def resolve(self) -> None:
        super().resolve()
        dataset, path = self.get("data.dataset"), self.get("data.path")
        if path is not None and not self.accepts_path:
            raise self.error(f"model.type {self.model_type!r} trains on data.dataset "
                             f"{next(iter(self.datasets))!r}, got data.path {path!r}")
        if dataset is not None and dataset not in self.datasets:
            own = f" or data.path ({self.accepts_path})" if self.accepts_path else ""
            raise self.error(f"model.type {self.model_type!r} trains on data.dataset "
                             f"{' or '.join(map(repr, self.datasets))}{own}, got {dataset!r}")
        nonlinearity = self.get("model.nonlinearity") if "model.nonlinearity" in self.keys \
            else None
        cell = self.get("model.cell") or inspect.signature(self.model_class).parameters[
            "cell"].default
        if nonlinearity not in (None, "tanh") and cell != "rnn":
            raise self.error(f"model.nonlinearity {nonlinearity!r} is the plain RNN's: set "
                             f"model.cell = 'rnn' (model.cell is {cell!r}, whose gates have "
                             f"their own functions)")

    def build_model(self, split: Split):
        options = {name.split(".")[1]: self.get(name) for name in MODEL_KEYS
                   if name in self.keys and self.get(name) is not None}
        return self.model_class(**split.info["sizes"], **options)

    def prepare(self) -> Split:
        backend.manual_seed(self.get("seed"))  # generated data come back the same
        if self.get("data.dataset") is not None:
            return self.prepare_dataset(self.get("data.dataset"))
        return self.prepare_file(self.get("data.path"))

    def prepare_dataset(self, name: str) -> Split:
        """The split of a bundled or generated dataset."""
        raise NotImplementedError

    def prepare_file(self, path: str) -> Split:
        """The split of a file of your own."""
        raise NotImplementedError


def majority_scores(predicted: np.ndarray, truth: np.ndarray, majority: int, names) -> tuple:
    """Each named metric of the predictions and of always answering ``majority``."""
    constant = np.full(len(truth), majority)
    test = {name: metric_functions.METRICS[name](predicted, truth) for name in names}
    base = {name: metric_functions.METRICS[name](constant, truth) for name in names}
    return test, base


class SequenceClassifierRecipe(SequenceRecipe):
    """many-to-one: the last state -> class logits (8x8 digits read row by row, movie-review
    sentences read word by word -> their sentiment, or an .npz of sequences X (samples, time,
    features) and labels y)."""

    model_type = "sequence_classifier"
    task = "sequence classification"
    datasets = {"digits_rows": "8x8 digits read row by row (8 steps of 8 pixels) -> the digit",
                "movie_reviews": "movie-review sentences read word by word -> negative or "
                                 "positive"}
    accepts_path = ".npz with X (samples, time, features) and labels y"
    losses = ("cross_entropy",)
    metrics = ("accuracy", "precision", "recall", "f1")
    model_class = sequence_models.SequenceClassifier
    keys = {**model_keys(model_class),
            "data.max_length": Key((int,), 50, "words kept per sentence (sequence_classifier "
                                               "on movie_reviews)", check=positive),
            "data.max_samples": Key((int,), None, "a stratified subset of this many sentences "
                                                  "(sequence_classifier on movie_reviews; "
                                                  "default: all)", check=positive)}
    defaults = {"loss.name": "cross_entropy", "train.metrics": ["accuracy"]}

    def prepare_dataset(self, name: str) -> Split:
        if name == "movie_reviews":
            return self._sentences()
        X, y = data.load_digits()
        return self._split((X / 16.0).reshape(-1, 8, 8).astype(np.float32), y)

    def _sentences(self) -> Split:
        """Word ids padded with 0 (the classifier counts each sentence's length from its
        padding), the vocabulary built on the training sentences only and kept in the run's
        info (``WordVocab.from_state_dict(info["vocabulary"])`` encodes new sentences)."""
        task = data.load_sentiment_task(test_size=self.get("data.test_size"),
                                        seed=self.get("seed"),
                                        max_length=self.get("data.max_length"),
                                        max_samples=self.get("data.max_samples"))
        info = {"sizes": {"vocab_size": len(task.vocab), "num_classes": 2, "padding_idx": 0},
                "classes": list(data.SENTIMENT_CLASS_NAMES),
                "majority": int(np.bincount(task.y_train, minlength=2).argmax()),
                "max_length": self.get("data.max_length"),
                "vocabulary": task.vocab.state_dict()}
        return Split(task.X_train, task.y_train, task.X_test, task.y_test, info)

    def prepare_file(self, path: str) -> Split:
        X, y = data.load_npz(path)
        if X.ndim != 3 or y.ndim != 1:
            raise DataError(f"data.path {path!r}: a sequence classifier reads X of shape "
                            f"(samples, time, features) and y (samples,), got {X.shape} and "
                            f"{y.shape}")
        return self._split(X, y)

    def _split(self, X: np.ndarray, y: np.ndarray) -> Split:
        classes, index = np.unique(y, return_inverse=True)
        X_train, X_test, y_train, y_test = data.train_test_split(
            X, index.reshape(-1), test_size=self.get("data.test_size"), stratify=True,
            seed=self.get("seed"))
        info = {"sizes": {"input_size": int(X.shape[2]), "num_classes": len(classes)},
                "classes": plain(classes),
                "majority": int(np.bincount(y_train, minlength=len(classes)).argmax())}
        return Split(X_train, y_train, X_test, y_test, info)

    def score(self, model, split: Split) -> Scores:
        from ...train import predict
        predicted = predict(model, split.X_test, batch_size=256).argmax(axis=1)
        majority = split.info["majority"]
        test, base = majority_scores(predicted, split.y_test, majority,
                                     ["accuracy"] + [name for name in self.get("train.metrics")
                                                     if name != "accuracy"])
        classes = split.info["classes"]
        confusion = metric_functions.confusion_matrix(predicted, split.y_test,
                                                      num_classes=len(classes))
        return Scores(test, base, f"majority class {classes[majority]}", confusion.tolist(),
                      classes)


class SequenceRegressorRecipe(SequenceRecipe):
    """many-to-one: the last state -> the next values of a series (yearly sunspots, or a
    numeric column of your own CSV; the model divides its windows by the training part's
    standard deviation and multiplies its forecasts by it, so it reads and answers in the
    series' units), or the sum of the two marked values of an adding-problem sequence (a
    long-term dependency)."""

    model_type = "sequence_regressor"
    task = "forecasting"
    datasets = {"sunspots": "yearly sunspot numbers: the past data.window years -> the next "
                            "data.horizon",
                "adding_problem": "generated adding-problem sequences (value, marker) of "
                                  "data.steps steps -> the sum of the two marked values"}
    accepts_path = "a CSV file; data.target names the series column"
    predicts = ("a CSV file holding the series column (by its name; the sunspots preset's is "
                "'sunspots') -> one row per window of data.window consecutive values: the "
                "window's last data row (window_end, 1 = the first row after the header) and "
                "the next data.horizon values after it, in the series' units; the last row "
                "forecasts past the end of the file. A file shorter than one window, or "
                "without the column, is refused")
    losses = ("mse", "mae", "rmse", "huber", "log_cosh")
    metrics = ("mae", "rmse", "r2")
    model_class = sequence_models.SequenceRegressor
    keys = {**model_keys(model_class),
            "data.window": Key((int,), 12, "past steps per window (sequence_regressor)",
                               check=positive),
            "data.horizon": Key((int,), 1, "future steps to forecast (sequence_regressor)",
                                check=positive),
            "data.target": Key((str, int), None, "the series column of data.path, by name or "
                                                 "index (sequence_regressor; default: the last)"),
            "data.n_samples": Key((int,), 25000, "sequences generated (sequence_regressor on "
                                                   "adding_problem)", check=positive),
            "data.steps": Key((int,), 100, "sequence length T (sequence_regressor on "
                                           "adding_problem)", check=positive)}
    defaults = {"loss.name": "mse", "train.metrics": ["rmse"]}

    def loss_refusal(self, name: str) -> str:
        return (f"model.type 'sequence_regressor' needs a regression loss.name "
                f"({', '.join(self.losses)}), got {name!r}")

    def prepare_dataset(self, name: str) -> Split:
        if self.get("data.target") is not None:
            raise self.error(f"data.target picks the series column of data.path; data.dataset "
                             f"{name!r} is one series")
        if name == "adding_problem":
            return self._adding_problem()
        return self._windows(data.load_sunspots().astype(np.float64), "sunspots")

    def _adding_problem(self) -> Split:
        """The adding problem (one marker in each half); its baseline predicts the training
        targets' mean (MSE about 1/6)."""
        steps = self.get("data.steps")
        if steps < 2:
            raise self.error(f"data.steps must be at least 2 for the adding problem, got {steps}")
        count = self.get("data.n_samples")
        cut = train_count(count, self.get("data.test_size"))
        X, y = data.make_adding_problem(count, steps)
        info = {"sizes": {"input_size": 2, "output_size": 1}, "mean": float(y[:cut].mean())}
        return Split(X[:cut], y[:cut], X[cut:], y[cut:], info)

    def prepare_file(self, path: str) -> Split:
        from .tables import numbers, open_table
        table = open_table(path, ",", True, "data.path")
        target = self.get("data.target")
        column = table.index(-1 if target is None else target)
        return self._windows(numbers(table, [column])[:, 0], table.names[column])

    def _windows(self, series: np.ndarray, name: str) -> Split:
        """Windows of the raw series, the last test_size of them held out (in time); the
        model's ``loc`` and ``scale`` are the mean and standard deviation of the values the
        training windows and targets cover (the model standardises its windows with them).
        ``info["series"]`` names the column ``annie predict`` reads."""
        window, horizon = self.get("data.window"), self.get("data.horizon")
        count = len(series) - window - horizon + 1
        n_test = max(1, round(count * self.get("data.test_size")))
        cut = count - n_test - (horizon - 1)  # no training target falls in the held-out part
        if cut < 1:
            raise ConfigError(f"data: the series {name!r} ({len(series)} steps) is too short "
                              f"for data.window={window}, data.horizon={horizon} and "
                              f"data.test_size={self.get('data.test_size')}")
        training = series[:cut + window + horizon - 1]  # the training part only
        loc, scale = float(training.mean()), float(training.std()) or 1.0
        X, y = data.make_windows(series.astype(np.float32), window, horizon)
        info = {"sizes": {"input_size": 1, "output_size": horizon, "scale": scale, "loc": loc},
                "series": name}
        return Split(np.array(X[:cut]), np.array(y[:cut]), np.array(X[-n_test:]),
                     np.array(y[-n_test:]), info)

    # ----- run folders written before the scale moved into the model ---------------------
    # Their run.json info holds "scale" (the model read the series divided by it) and their
    # held-out windows are stored divided by it; read back, they become the model with that
    # scale inside and raw windows, so they score and predict in the series' units.
    @staticmethod
    def in_series_units(model, info: dict):
        """``model`` reading and answering in the series' units: a model saved with its
        scale outside (``info["scale"]``) gets it inside; returns the model."""
        outside = info.get("scale")
        if outside is not None and getattr(model, "scale", None) == 1.0:
            model.scale = float(outside)
        return model

    def load_heldout(self, folder: str, info: dict) -> Split:
        split = super().load_heldout(folder, info)
        outside = info.get("scale")
        if outside is not None:
            split.X_test, split.y_test = split.X_test * outside, split.y_test * outside
        return split

    def score(self, model, split: Split) -> Scores:
        from ...train import predict
        if "mean" in split.info:  # the adding problem: mean squared error beside the mean
            predicted = predict(model, split.X_test, batch_size=256).reshape(split.y_test.shape)

            def mse(values):
                return float(np.mean((np.asarray(values, np.float64) - split.y_test) ** 2))
            return Scores({"mse": mse(predicted)}, {"mse": mse(split.info["mean"])},
                          "predict the mean sum")
        model = self.in_series_units(model, split.info)
        truth = split.y_test.astype(np.float64)
        predicted = predict(model, split.X_test, batch_size=256).reshape(truth.shape)
        last = split.X_test[:, -1]
        persistence = np.broadcast_to(last.reshape(len(last), *([1] * (truth.ndim - 1))),
                                      truth.shape)

        def rmse(values):
            return float(np.sqrt(np.mean((values - truth) ** 2)))
        return Scores({"rmse": rmse(predicted)}, {"rmse": rmse(persistence)},
                      "persistence: next = last")

    # ----- annie predict -------------------------------------------------------------------
    def predict_file(self, model, info: dict, path: str, proba: bool = False) -> Prediction:
        """The next data.horizon values after every window of the series column of ``path``
        (see ``predicts``)."""
        from .tables import numbers, table_for_rows
        from .tabular import cells
        if "mean" in info:
            raise ConfigError("annie predict forecasts a series; this run learned the adding "
                              "problem (sequences of value and marker pairs): use annie.load "
                              "and the model in Python")
        if "series" not in info:
            raise ConfigError("annie predict: this run folder does not record its series "
                              "column (an older annie wrote it); train it again to forecast "
                              "from the command line")
        if proba:
            raise ConfigError("--proba: a forecaster predicts values, not class "
                              "probabilities; leave out --proba")
        name, window = info["series"], self.get("data.window")
        table, columns, _, notes = table_for_rows(path, [name], "predict")
        series = numbers(table, columns)[:, 0].astype(np.float32)
        if len(series) < window:
            raise DataError(f"predict: {path!r} holds {len(series)} values of the series "
                            f"{name!r}; a forecast reads a window of data.window = {window}")
        windows = np.lib.stride_tricks.sliding_window_view(series, window)
        model = self.in_series_units(model, info)
        outputs = finite_outputs(model, windows, path, "windows", "window").reshape(len(windows), -1)
        horizon = outputs.shape[1]
        ends = np.arange(window, len(series) + 1, dtype=np.int64)
        rows = np.concatenate([ends[:, None].astype(object), cells(outputs)], axis=1)
        return Prediction(["window_end", *[f"{name}+{step}" for step in range(1, horizon + 1)]],
                          rows.tolist(), notes)
