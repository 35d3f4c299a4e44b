"""The MLP tab: an annie MLP learning 2-D points, with everything the page draws.

The model is the one ``annie train`` builds for the same configuration: for each hidden size
Linear -> activation (-> Dropout), then Linear to the outputs the loss needs (and a sigmoid or
softmax output layer where the loss takes probabilities). The data are split by
:func:`annie.data.train_test_split` with the configuration's seed, as ``annie train`` does.

Drawn from it: the output over a grid of the input plane (the decision boundary), each hidden
neuron's output over a coarser grid, the weights and biases of every layer, and in single-neuron
mode the neuron's weighted sum, bias and activation.
"""
from __future__ import annotations

import base64

import numpy as np

from .. import data as annie_data, losses, nn
from ..tensor import Tensor, no_grad
from . import controls, toy_data
from .controls import ControlError
from .lab import Lab

BOUNDARY_GRID = 48  # cells per side of the decision-boundary heat map
NEURON_GRID = 20  # cells per side of each hidden neuron's heat map
PLANE = (-1.5, 1.5)  # the generated sets' input plane, both axes

#: loss -> (outputs: "classes" or 1, output activation or None)
HEADS = {"cross_entropy": ("classes", None), "kl_divergence": ("classes", "softmax"),
         "binary_cross_entropy": (1, "sigmoid"), "binary_cross_entropy_with_logits": (1, None),
         "hinge": (1, None)}


def encode_unit(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes (0 <-> -1, 255 <-> +1), row by row."""
    scaled = np.rint((np.clip(values, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def plane_grid(extent: tuple, size: int) -> np.ndarray:
    """(size * size, 2) cell centres, row 0 at the top (largest x2), left to right in x1."""
    x_low, x_high, y_low, y_high = extent
    xs = x_low + (np.arange(size) + 0.5) * (x_high - x_low) / size
    ys = y_high - (np.arange(size) + 0.5) * (y_high - y_low) / size
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float32)


class MlpLab(Lab):
    """Settings, data, model and training of the MLP tab (see ``controls.MLP_CONTROLS``)."""

    kind = "mlp"

    def __init__(self, settings: dict | None = None, upload: toy_data.PlaneData | None = None):
        self.upload = upload
        super().__init__(settings)

    # ----- settings ----------------------------------------------------------------------
    def task_of(self, settings: dict) -> tuple[str, int]:
        """(task, number of classes) of the data the settings name."""
        if settings["dataset"] == "upload":
            if self.upload is None:
                raise ControlError("dataset", "Data: upload a CSV file first (two feature "
                                              "columns and a label)")
            return self.upload.task, self.upload.num_classes
        return "classification", 2

    def check(self, settings: dict) -> None:
        """The loss must fit the data's task (binary losses: two classes); single-neuron mode
        needs a loss with one output."""
        task, classes = self.task_of(settings)
        loss = settings["loss"]
        if task == "classification" and loss not in controls.CLASSIFICATION_LOSSES:
            raise ControlError("loss", f"Loss: {loss} is a regression loss; these data have "
                                       f"class labels: choose one of "
                               f"{', '.join(controls.CLASSIFICATION_LOSSES)}")
        if task == "regression" and loss not in controls.REGRESSION_LOSSES:
            raise ControlError("loss", f"Loss: {loss} needs class labels; these data have a "
                                       f"numeric target: choose one of "
                               f"{', '.join(controls.REGRESSION_LOSSES)}")
        if loss in controls.BINARY_ONLY_LOSSES and classes != 2:
            raise ControlError("loss", f"Loss: {loss} is for two classes; these data have "
                                       f"{classes}: choose cross_entropy or kl_divergence")
        if settings["single_neuron"] and task == "classification" \
                and loss not in controls.BINARY_ONLY_LOSSES:
            raise ControlError("loss", f"Single neuron: one output neuron needs one of "
                                       f"{', '.join(controls.BINARY_ONLY_LOSSES)}, not {loss}")

    def set_upload(self, upload: toy_data.PlaneData) -> None:
        """Use an uploaded data set; the loss changes to a default of its task if needed."""
        saved = dict(vars(self))
        self.upload = upload
        changes = {"dataset": "upload"}
        fits = controls.REGRESSION_LOSSES if upload.task == "regression" else \
            controls.CLASSIFICATION_LOSSES
        if self.settings["loss"] not in fits or (
                upload.num_classes != 2 and self.settings["loss"] in controls.BINARY_ONLY_LOSSES):
            changes["loss"] = "mse" if upload.task == "regression" else "cross_entropy"
            if self.settings["single_neuron"] and upload.task == "classification":
                changes["single_neuron"] = False
        try:
            self.settings, _ = controls.apply_changes(self.kind, self.settings, changes)
            self.check(self.settings)
            self.rebuild()
        except Exception:
            vars(self).clear()
            vars(self).update(saved)
            raise

    # ----- data and model ----------------------------------------------------------------
    @property
    def hidden(self) -> list[int]:
        """Hidden layer sizes in use (none in single-neuron mode)."""
        return [] if self.settings["single_neuron"] else list(self.settings["hidden"])

    def build(self) -> None:
        """Data, split, scaling, model and loss from the settings."""
        settings = self.settings
        if settings["dataset"] == "upload":
            self.data = self.upload
            self.scaler = annie_data.StandardScaler()
        else:
            self.data = toy_data.generate(settings["dataset"], settings["samples"],
                                          settings["noise"], settings["seed"])
            self.scaler = None
        self.task, classes = self.task_of(settings)
        X_train, X_test, y_train, y_test = annie_data.train_test_split(
            self.data.X, self.data.y, test_size=self.test_size,
            stratify=self.task == "classification", seed=settings["seed"])
        self.labels_train, self.labels_test = y_train, y_test
        self.points_train, self.points_test = X_train, X_test
        if self.scaler is not None:
            X_train = self.scaler.fit_transform(X_train)
            X_test = self.scaler.transform(X_test)
        self.X_train, self.X_test = X_train.astype(np.float32), X_test.astype(np.float32)
        self.y_train, self.y_test = self.targets(y_train), self.targets(y_test)
        self.model = self.make_model()
        self.loss = losses.get_loss(settings["loss"])
        self.extent = self._extent()

    @property
    def test_size(self) -> float:
        """The held-out fraction, 1 - training share."""
        return round(1.0 - self.settings["train_ratio"], 6)

    def head(self) -> tuple[int, str | None]:
        """(number of outputs, output activation or None) for the loss and data."""
        if self.task == "regression":
            return 1, None
        outputs, activation = HEADS[self.settings["loss"]]
        return (self.data.num_classes if outputs == "classes" else 1), activation

    def make_model(self) -> nn.Sequential:
        """Linear -> activation (-> Dropout) per hidden size, then the output layer(s)."""
        layers, width = [], 2
        self.hidden_outputs = []  # index of each hidden layer's output in the Sequential
        for size in self.hidden:
            layers += [nn.Linear(width, size), nn.activation_module(self.settings["activation"])]
            self.hidden_outputs.append(len(layers) - 1)
            if self.settings["dropout"] > 0:
                layers.append(nn.Dropout(self.settings["dropout"]))
            width = size
        outputs, activation = self.head()
        layers.append(nn.Linear(width, outputs))
        if activation is not None:
            layers.append(nn.activation_module(activation))
        return nn.Sequential(*layers)

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """Labels in the form the loss takes: class indices, one-hot rows, or a column of
        0/1, -1/+1 or numeric values."""
        loss = self.settings["loss"]
        if self.task == "regression":
            return labels.astype(np.float32).reshape(-1, 1)
        if loss == "cross_entropy":
            return labels.astype(np.int64)
        if loss == "kl_divergence":
            return annie_data.one_hot(labels, self.data.num_classes).astype(np.float32)
        column = labels.astype(np.float32).reshape(-1, 1)
        return 2.0 * column - 1.0 if loss == "hinge" else column

    def _extent(self) -> tuple[float, float, float, float]:
        if self.settings["dataset"] != "upload":
            return (*PLANE, *PLANE)
        low, high = self.data.X.min(axis=0), self.data.X.max(axis=0)
        margin = np.maximum((high - low) * 0.1, 1e-3)
        low, high = low - margin, high + margin
        return float(low[0]), float(high[0]), float(low[1]), float(high[1])

    def _inputs(self, points: np.ndarray) -> np.ndarray:
        """Points of the plane as the model sees them (scaled like the training data)."""
        return self.scaler.transform(points).astype(np.float32) if self.scaler else points

    # ----- outputs -------------------------------------------------------------------------
    def classify(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class, value) per row: for two classes value in [-1, 1] leans to class 1
        as it grows (2 p - 1, or the hinge score clipped); for more, the top probability."""
        loss = self.settings["loss"]
        if outputs.shape[1] == 1:
            if loss == "hinge":
                value = np.clip(outputs[:, 0], -1.0, 1.0)
                return (outputs[:, 0] > 0).astype(np.int64), value
            p = outputs[:, 0] if loss == "binary_cross_entropy" else \
                1.0 / (1.0 + np.exp(-np.clip(outputs[:, 0], -60, 60)))
            return (p > 0.5).astype(np.int64), 2.0 * p - 1.0
        if loss == "kl_divergence":
            probabilities = outputs
        else:
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        predicted = probabilities.argmax(axis=1)
        if outputs.shape[1] == 2:
            return predicted, 2.0 * probabilities[:, 1] - 1.0
        return predicted, probabilities.max(axis=1)

    def record(self) -> None:
        """Losses (and accuracy for classes) on the training and held-out points."""
        self.metrics = {"train_loss": self.loss_of(self.X_train, self.y_train),
                        "test_loss": self.loss_of(self.X_test, self.y_test)}
        if self.task == "classification":
            for part, X, labels in (("train", self.X_train, self.labels_train),
                                    ("test", self.X_test, self.labels_test)):
                predicted, _ = self.classify(self.predict(X))
                self.metrics[f"{part}_accuracy"] = float(np.mean(predicted == labels))
        self.history.add(epoch=self.epoch, train_loss=self.metrics["train_loss"],
                         test_loss=self.metrics["test_loss"])

    def boundary(self) -> dict:
        """The model's output over the plane: for two classes the lean to class 1 in [-1, 1],
        for more classes the predicted class and its probability, for regression the value
        scaled to the training targets' range."""
        outputs = self.predict(self._inputs(plane_grid(self.extent, BOUNDARY_GRID)))
        result = {"size": BOUNDARY_GRID}
        if self.task == "regression":
            low, high = float(self.labels_train.min()), float(self.labels_train.max())
            span = max(high - low, 1e-6)
            result.update(kind="regression", low=low, high=high,
                          values=encode_unit(2.0 * (outputs[:, 0] - low) / span - 1.0))
        elif self.data.num_classes == 2:
            _, value = self.classify(outputs)
            result.update(kind="binary", values=encode_unit(value))
        else:
            predicted, confidence = self.classify(outputs)
            result.update(kind="classes", classes=base64.b64encode(
                predicted.astype(np.uint8).tobytes()).decode("ascii"),
                values=encode_unit(2.0 * confidence - 1.0))
        return result

    def neuron_maps(self) -> list[list[str]]:
        """Per hidden layer, each neuron's output over the plane (divided by the layer's
        largest |output| when that exceeds 1, e.g. for ReLU)."""
        x = Tensor(self._inputs(plane_grid(self.extent, NEURON_GRID)))
        maps = []
        self.model.eval()
        with no_grad():
            for index, layer in enumerate(self.model.layers):
                x = layer(x)
                if index in self.hidden_outputs:
                    values = x.data.astype(np.float64)
                    values = values / max(1.0, float(np.abs(values).max()))
                    maps.append([encode_unit(values[:, unit]) for unit in range(values.shape[1])])
        return maps

    def weights(self) -> list[dict]:
        """Every Linear layer's weight (out, in) and bias, rounded for drawing."""
        return [{"weight": np.round(layer.weight.data.astype(np.float64), 4).tolist(),
                 "bias": np.round(layer.bias.data.astype(np.float64), 4).tolist()}
                for layer in self.model.layers if isinstance(layer, nn.Linear)]

    def neuron(self) -> dict:
        """Single-neuron mode: y = f(w1 x1 + w2 x2 + b) with its weights and f, and the sum,
        activation and prediction for the first training point (as the model computes them)."""
        linear = self.model.layers[0]
        loss = self.settings["loss"]
        activation = {"binary_cross_entropy": "sigmoid", "hinge": "sign"}.get(
            loss, "sigmoid (inside the loss)" if loss == "binary_cross_entropy_with_logits"
            else "identity")
        x = self.X_train[:1]
        weighted_sum = float((x @ linear.weight.data.T + linear.bias.data)[0, 0])
        output = float(self.predict(x)[0, 0])
        return {"weight": [float(w) for w in linear.weight.data[0]],
                "bias": float(linear.bias.data[0]), "activation": activation,
                "example": {"x": [float(v) for v in x[0]], "sum": weighted_sum,
                            "output": output, "label": int(self.labels_train[0])
                            if self.task == "classification" else float(self.labels_train[0])}}

    def input_transform(self) -> dict | None:
        """The scaling of uploaded data as model input = x * scale + offset per feature."""
        if self.scaler is None:
            return None
        offset = self.scaler.transform(np.zeros((1, 2), np.float32))[0].astype(np.float64)
        scale = self.scaler.transform(np.ones((1, 2), np.float32))[0].astype(np.float64) - offset
        return {"scale": scale.tolist(), "offset": offset.tolist()}

    def plane_data(self) -> dict:
        """The points (in the file's units), their labels and the plane's extent."""
        def rows(points, labels):
            return np.round(np.column_stack([points, labels]).astype(np.float64), 4).tolist()
        return {"task": self.task, "classes": list(self.data.classes),
                "feature_names": list(self.data.feature_names), "source": self.data.source,
                "extent": list(self.extent),
                "train": rows(self.points_train, self.labels_train),
                "test": rows(self.points_test, self.labels_test)}

    def snapshot(self) -> dict:
        """Settings, curves, metrics, heat maps, weights (and the single neuron) as JSON."""
        state = super().snapshot()
        state.update(metrics=self.metrics, boundary=self.boundary(), data=self.plane_data(),
                     has_upload=self.upload is not None, input_transform=self.input_transform(),
                     network={"sizes": [2, *self.hidden, self.head()[0]],
                              "activation": self.settings["activation"],
                              "output_activation": self.head()[1],
                              "neuron_grid": NEURON_GRID, "neurons": self.neuron_maps(),
                              "layers": self.weights()})
        if self.settings["single_neuron"]:
            state["neuron"] = self.neuron()
        return state
