"""The MLP tab: an annie MLP learning 2-D points, with everything the page draws.

The run goes through ``annie train``'s own recipe (``annie.app``): the points are written to a
CSV file, the tab's settings become a configuration, and the recipe reads and splits the file
and builds the model (an ``nn.Normalization`` for uploaded data, Linear -> activation
(-> Dropout) per hidden size, and the output layer and target encoding the loss needs). So the
exported configuration trains the same model on the same split with ``annie train``.

Drawn from it: the output over a grid of the input plane (the decision boundary), each hidden
neuron's output over a coarser grid, the weights and biases of every layer, and in single-neuron
mode the neuron's weighted sum, bias and activation.
"""
from __future__ import annotations

import base64
import os

import numpy as np

from .. import losses, nn
from ..app import config as app_config
from ..app.recipes.classifier import true_index
from ..tensor import Tensor
from . import controls, toy_data
from .controls import ControlError
from .lab import Lab

BOUNDARY_GRID = 48  # cells per side of the decision-boundary heat map
NEURON_GRID = 20  # cells per side of each hidden neuron's heat map
PLANE = (-1.5, 1.5)  # the generated sets' input plane, both axes
DATA_FILE = "data.csv"


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
    record_each_epoch = True

    def __init__(self, settings: dict | None = None, upload: toy_data.PlaneData | None = None,
                 folder: str | None = None):
        self.upload = upload
        super().__init__(settings, folder)

    # ----- settings ----------------------------------------------------------------------
    def task_of(self, settings: dict) -> tuple[str, int]:
        """(task, number of classes) of the data the settings name."""
        if settings["dataset"] == "upload":
            if self.upload is None:
                raise ControlError("dataset", "Data: upload a CSV file first (two feature "
                                              "columns and a label)")
            return self.upload.task, self.upload.num_classes
        return "classification", 2

    def check(self, settings: dict, changed: tuple = ()) -> None:
        """The loss must fit the data's task (binary losses: two classes); single-neuron mode
        needs a loss with one output."""
        task, classes = self.task_of(settings)
        loss = settings["loss"]
        if loss in controls.UNTRAINABLE_LOSSES:
            raise ControlError("loss", f"Loss: {loss}: {controls.UNTRAINABLE_LOSSES[loss]}")
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

    @property
    def test_size(self) -> float:
        """The held-out fraction, 1 - training share."""
        return round(1.0 - self.settings["train_ratio"], 6)

    def configuration(self, epochs: int = 1) -> dict:
        """The ``annie train`` configuration of this tab's run (the points in DATA_FILE in the
        tab's folder; uploaded features standardised inside the model)."""
        settings = self.settings
        task, _ = self.task_of(settings)
        config = app_config.default_config()
        config["seed"] = settings["seed"]
        config["data"].update(path=os.path.join(self.folder, DATA_FILE),
                              target=toy_data.LABEL_COLUMN, test_size=self.test_size, task=task,
                              scale="standard" if settings["dataset"] == "upload" else "none")
        config["model"].update(type="mlp", hidden=self.hidden, activation=settings["activation"],
                               dropout=settings["dropout"] or None)
        config["loss"]["name"] = settings["loss"]
        config["optimizer"].update(name=settings["optimizer"], lr=settings["lr"])
        if settings["l2"]:
            config["optimizer"]["weight_decay"] = settings["l2"]
        config["train"].update(epochs=epochs, batch_size=settings["batch_size"])
        return config

    def build(self) -> None:
        """Data (written to the tab's folder), then split and model by annie train's recipe."""
        settings = self.settings
        if settings["dataset"] == "upload":
            self.data = self.upload
        else:
            self.data = toy_data.generate(settings["dataset"], settings["samples"],
                                          settings["noise"], settings["seed"])
        with open(os.path.join(self.folder, DATA_FILE), "w", encoding="utf-8") as handle:
            handle.write(self.data_text())
        self.recipe = app_config.validate(self.configuration(), "playground")
        self.task = self.recipe.task
        split = self.recipe.prepare()
        self.model = self.recipe.build_model(split)
        self.loss = losses.get_loss(self.recipe.get("loss.name"))
        self.X_train, self.X_test = split.X_train, split.X_test
        outputs = self.model(Tensor(split.X_test[:1])).shape[-1]
        self.y_train, self.y_test = (self._as_outputs(y, outputs)
                                     for y in (split.y_train, split.y_test))
        if self.task == "classification":
            self.labels_train, self.labels_test = (true_index(y)
                                                   for y in (split.y_train, split.y_test))
        else:
            self.labels_train, self.labels_test = (y.reshape(-1)
                                                   for y in (split.y_train, split.y_test))
        self.extent = self._extent()

    def data_text(self) -> str:
        """The points as the CSV file annie train reads."""
        return toy_data.to_csv(self.data)

    @staticmethod
    def _as_outputs(y: np.ndarray, outputs: int) -> np.ndarray:
        """Targets of a one-output model as a column (the loss compares equal shapes)."""
        return y.reshape(-1, 1) if outputs == 1 and y.ndim == 1 else y

    def layer_sizes(self) -> list[int]:
        """Units per layer: the two inputs, the hidden layers, the outputs."""
        linears = [layer for layer in self.model.layers if isinstance(layer, nn.Linear)]
        return [2, *(layer.out_features for layer in linears)]

    def hidden_outputs(self) -> list[int]:
        """Index in the Sequential of each hidden layer's activation (its output)."""
        layers = self.model.layers
        linear = [index for index, layer in enumerate(layers) if isinstance(layer, nn.Linear)]
        return [index + 1 for index in linear[:-1]]

    def _extent(self) -> tuple[float, float, float, float]:
        if self.settings["dataset"] != "upload":
            return (*PLANE, *PLANE)
        low, high = self.data.X.min(axis=0), self.data.X.max(axis=0)
        margin = np.maximum((high - low) * 0.1, 1e-3)
        low, high = low - margin, high + margin
        return float(low[0]), float(high[0]), float(low[1]), float(high[1])

    # ----- outputs -------------------------------------------------------------------------
    def classify(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class, value) per row, by the recipe's output head: for two classes
        value in [-1, 1] leans to class 1 as it grows (2 p - 1, or the hinge score clipped);
        for more classes, the top probability."""
        head = self.recipe.head
        predicted = head.predicted(outputs)
        if head.probabilities is None:  # hinge: a score whose sign is the class
            return predicted, np.clip(outputs[:, 0], -1.0, 1.0)
        probabilities = head.probability_table(outputs)
        if probabilities.shape[1] == 2:
            return predicted, 2.0 * probabilities[:, 1] - 1.0
        return predicted, probabilities.max(axis=1)

    def measure(self) -> dict:
        """Losses (and accuracy for classes) on the training and held-out points."""
        metrics = {"train_loss": self.loss_of(self.X_train, self.y_train),
                   "test_loss": self.loss_of(self.X_test, self.y_test)}
        if self.task == "classification":
            for part, X, labels in (("train", self.X_train, self.labels_train),
                                    ("test", self.X_test, self.labels_test)):
                predicted, _ = self.classify(self.predict(X))
                metrics[f"{part}_accuracy"] = float(np.mean(predicted == labels))
        return metrics

    def commit(self, measured: dict) -> None:
        """Show the measured losses and add them to the curves."""
        self.metrics = measured
        self.history.add(epoch=self.epoch, train_loss=measured["train_loss"],
                         test_loss=measured["test_loss"])

    def boundary(self) -> dict:
        """The model's output over the plane: for two classes the lean to class 1 in [-1, 1],
        for more classes the predicted class and its probability, for regression the value
        scaled to the training targets' range."""
        outputs = self.predict(plane_grid(self.extent, BOUNDARY_GRID))
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
        x = Tensor(plane_grid(self.extent, NEURON_GRID))
        hidden = self.hidden_outputs()
        maps = []
        with self.model.evaluating():
            for index, layer in enumerate(self.model.layers):
                x = layer(x)
                if index in hidden:
                    values = x.data.astype(np.float64)
                    values = values / max(1.0, float(np.abs(values).max()))
                    maps.append([encode_unit(values[:, unit]) for unit in range(values.shape[1])])
        return maps

    def weights(self) -> list[dict]:
        """Every Linear layer's weight (out, in) and bias, rounded for drawing."""
        return [{"weight": np.round(layer.weight.data.astype(np.float64), 4).tolist(),
                 "bias": np.round(layer.bias.data.astype(np.float64), 4).tolist()}
                for layer in self.model.layers if isinstance(layer, nn.Linear)]

    def _normalization(self):
        """The model's input Normalization layer (uploaded data), or None."""
        first = self.model.layers[0]
        return first if isinstance(first, nn.Normalization) else None

    def neuron(self) -> dict:
        """Single-neuron mode: y = f(w1 x1 + w2 x2 + b) with its weights and f, and the sum,
        activation and prediction for the first training point (as the model computes them;
        x is the neuron's input, after the Normalization of uploaded data)."""
        linear = next(layer for layer in self.model.layers if isinstance(layer, nn.Linear))
        loss = self.settings["loss"]
        activation = {"binary_cross_entropy": "sigmoid", "hinge": "sign"}.get(
            loss, "sigmoid (inside the loss)" if loss == "binary_cross_entropy_with_logits"
            else "identity")
        x = self.X_train[:1].astype(np.float64)
        normalization = self._normalization()
        if normalization is not None:
            x = (x - normalization.mean) / normalization.std
        weighted_sum = float((x @ linear.weight.data.T + linear.bias.data)[0, 0])
        output = float(self.predict(self.X_train[:1])[0, 0])
        return {"weight": [float(w) for w in linear.weight.data[0]],
                "bias": float(linear.bias.data[0]), "activation": activation,
                "example": {"x": [float(v) for v in x[0]], "sum": weighted_sum,
                            "output": output, "label": int(self.labels_train[0])
                            if self.task == "classification" else float(self.labels_train[0])}}

    def input_transform(self) -> dict | None:
        """The model's input Normalization as input = x * scale + offset per feature."""
        normalization = self._normalization()
        if normalization is None:
            return None
        std = normalization.std.astype(np.float64)
        return {"scale": (1.0 / std).tolist(),
                "offset": (-normalization.mean.astype(np.float64) / std).tolist()}

    def plane_data(self) -> dict:
        """The points (in the file's units), their labels and the plane's extent."""
        def rows(points, labels):
            return np.round(np.column_stack([points, labels]).astype(np.float64), 4).tolist()
        return {"task": self.task, "classes": list(self.data.classes),
                "feature_names": list(self.data.feature_names), "source": self.data.source,
                "extent": list(self.extent),
                "train": rows(self.X_train, self.labels_train),
                "test": rows(self.X_test, self.labels_test)}

    def snapshot(self, measure: bool = True) -> dict:
        """Settings, curves, metrics, heat maps, weights (and the single neuron) as JSON."""
        state = super().snapshot(measure)
        state.update(metrics=self.metrics, boundary=self.boundary(), data=self.plane_data(),
                     has_upload=self.upload is not None, input_transform=self.input_transform(),
                     network={"sizes": self.layer_sizes(),
                              "activation": self.settings["activation"],
                              "output_activation": self.recipe.head.output
                              if self.task == "classification" else None,
                              "neuron_grid": NEURON_GRID, "neurons": self.neuron_maps(),
                              "layers": self.weights()})
        if self.settings["single_neuron"]:
            state["neuron"] = self.neuron()
        return state
