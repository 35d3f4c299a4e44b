"""fit's messages for bad data: each names the argument, the shapes and the values at fault."""
import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.errors import ConfigError, DataError, DTypeError, ShapeError


def setup(n=20, outputs=3):
    annie.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    model = nn.Linear(4, outputs)
    return model, optim.SGD(model.parameters(), lr=0.1), X


def train(model, optimizer, X, y, loss="cross_entropy", **options):
    return annie.fit(model, loss, optimizer, X, y, **{"epochs": 1, "batch_size": 5,
                                                      "verbose": 0, **options})


def test_class_label_out_of_range_names_the_sample_and_the_number_of_classes():
    model, optimizer, X = setup()
    y = np.arange(20) % 3
    y[17] = 3
    with pytest.raises(DataError, match=r"y\[17\] = 3, outside \[0, 3\) for the model's 3 "
                                        r"outputs") as caught:
        train(model, optimizer, X, y)
    assert "model output shape (5, 3)" in str(caught.value)
    y[17] = -2
    with pytest.raises(DataError, match=r"y\[17\] = -2"):
        train(model, optimizer, X, y)


def test_float_class_labels_are_a_dtype_error():
    model, optimizer, X = setup()
    with pytest.raises(DTypeError, match=r"class labels in target must be integers, got dtype "
                                         r"float32"):
        train(model, optimizer, X, (np.arange(20) % 3).astype(np.float32))


def test_loss_target_shape_disagreement_names_both_shapes_and_the_model_output():
    model, optimizer, X = setup()
    with pytest.raises(ShapeError, match=r"model output shape \(5, 3\), target shape \(5, 2\), "
                                         r"y shape \(20, 2\).*mse: prediction has shape \(5, 3\)"):
        train(model, optimizer, X, np.zeros((20, 2), np.float32), loss="mse")


def test_batch_size_larger_than_the_data_gives_one_short_batch():
    model, optimizer, X = setup()
    y = np.arange(20) % 3
    history = train(model, optimizer, X, y, batch_size=21)
    # one step on all 20 samples: the same as batch_size=20 from the same start
    other, other_optimizer, _ = setup()
    reference = train(other, other_optimizer, X, y, batch_size=20)
    assert history.history["loss"] == reference.history["loss"]
    np.testing.assert_array_equal(model.weight.data, other.weight.data)
    train(model, optimizer, X, y, batch_size=500, validation_split=0.2)
    assert annie.evaluate(model, "cross_entropy", X, y, batch_size=1000)["loss"] > 0


def test_empty_data():
    model, optimizer, X = setup()
    with pytest.raises(DataError, match=r"fit: X is empty \(shape \(0, 4\)\)"):
        train(model, optimizer, X[:0], np.zeros(0, np.int64))
    with pytest.raises(DataError, match=r"fit: y is empty \(shape \(0,\)\)"):
        train(model, optimizer, X, np.zeros(0, np.int64))


@pytest.mark.parametrize("bad, dtype", [(np.array([["a"] * 4] * 20), "<U1"),
                                        (np.array([[object()] * 4] * 20), "object")])
def test_non_numeric_data_is_refused(bad, dtype):
    model, optimizer, X = setup()
    with pytest.raises(DataError, match=f"fit: X must be a numeric array, got dtype {dtype}"):
        train(model, optimizer, bad, np.arange(20) % 3)
    with pytest.raises(DataError, match=f"fit: y must be a numeric array, got dtype {dtype}"):
        train(model, optimizer, X, bad[:, 0])


def test_x_and_y_of_different_lengths():
    model, optimizer, X = setup()
    with pytest.raises(ShapeError, match=r"X has 20 samples \(shape \(20, 4\)\) but y has 19"):
        train(model, optimizer, X, np.arange(19) % 3)


def test_a_target_of_shape_n_trains_a_model_with_one_output_like_n_by_1():
    X = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5, 0.0], np.float32)
    for loss, target in (("mse", y), ("binary_cross_entropy_with_logits", (y > 0) * 1.0),
                         ("hinge", np.where(y > 0, 1.0, -1.0))):
        histories = []
        for shaped in (target, target[:, None]):
            annie.manual_seed(0)
            model = nn.Linear(4, 1)
            histories.append(annie.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), X,
                                       shaped, epochs=3, batch_size=8, verbose=0, seed=0))
            assert annie.evaluate(model, loss, X, shaped)["loss"] >= 0
        assert histories[0].history == histories[1].history, loss
    model, optimizer, X = setup(outputs=2)  # two outputs: (n,) is no longer one per sample
    with pytest.raises(ShapeError, match=r"mse: prediction has shape \(5, 2\)"):
        train(model, optimizer, X, np.zeros(20, np.float32), loss="mse")


def test_pandas_frames_and_python_lists_are_data():
    pandas = pytest.importorskip("pandas")
    model, optimizer, X = setup()
    y = np.arange(20) % 3
    frame = pandas.DataFrame(X, columns=list("abcd"))
    reference = train(model, optimizer, X, y).history
    for features, labels in ((frame, pandas.Series(y)), (X.tolist(), y.tolist())):
        model, optimizer, _ = setup()
        assert train(model, optimizer, features, labels).history == reference
    assert annie.predict(model, frame).shape == (20, 3)
    frame["kind"] = ["x"] * 20
    with pytest.raises(DataError, match=r"column\(s\) \['kind'\] of the DataFrame are not"):
        train(model, optimizer, frame, y)
    with pytest.raises(DataError, match="not a rectangular array"):
        train(model, optimizer, [[1.0, 2.0], [3.0]], [0, 1])


class RowAccuracy:
    """A metric class, as Keras users write them: made without arguments, called on
    (prediction, target)."""

    def __call__(self, prediction, target):
        return float(np.mean(np.argmax(prediction, axis=1) == target))


class NeedsThreshold:
    def __init__(self, threshold):
        self.threshold = threshold

    def __call__(self, prediction, target):  # pragma: no cover - never made
        return 0.0


def test_a_loss_or_metric_class_is_made_with_its_defaults_as_keras_does():
    """losses.CrossEntropy (the class) trains and evaluates as losses.CrossEntropy() and as
    the function; a metric class is called on the predictions, not made from them."""
    from annie import losses
    results = []
    for loss in (losses.CrossEntropy, losses.CrossEntropy(), losses.cross_entropy):
        model, optimizer, X = setup()
        y = np.arange(20) % 3
        history = train(model, optimizer, X, y, loss=loss, metrics=[RowAccuracy])
        results.append((history.history["loss"], history.history["RowAccuracy"],
                        annie.evaluate(model, loss, X, y, metrics=[RowAccuracy, "accuracy"])))
    assert results[0] == results[1] == results[2]
    scores = results[0][2]
    assert scores["RowAccuracy"] == scores["accuracy"]
    flow = annie.diagnostics.gradient_flow(model, losses.CrossEntropy, X, y)
    assert np.isclose(flow.loss, float(losses.cross_entropy(model(X), y).data))


def test_a_class_that_needs_arguments_or_a_value_that_is_not_callable_names_the_fix():
    model, optimizer, X = setup()
    y = np.arange(20) % 3
    with pytest.raises(ConfigError, match=r"fit: the metric class NeedsThreshold cannot be made "
                                          r"with its defaults .*; pass an instance, "
                                          r"NeedsThreshold\(\.\.\.\)"):
        train(model, optimizer, X, y, metrics=[NeedsThreshold])
    with pytest.raises(ConfigError, match=r"evaluate: the loss class NeedsThreshold cannot be "
                                          r"made with its defaults"):
        annie.evaluate(model, NeedsThreshold, X, y)
    with pytest.raises(ConfigError, match=r"fit: a loss must be a function, an object with "
                                          r"__call__, a class or a name, got int"):
        train(model, optimizer, X, y, loss=3)
    with pytest.raises(ConfigError, match=r"evaluate: a metric must be .* got float"):
        annie.evaluate(model, None, X, y, metrics=[0.5])
    with pytest.raises(ConfigError, match=r"gradient_flow: a loss must be .* got list"):
        annie.diagnostics.gradient_flow(model, [], X, y)


class BatchCounter(annie.train.Callback):
    def __init__(self):
        self.batches = 0

    def on_batch_end(self, batch, loss):
        self.batches += 1


@pytest.mark.parametrize("metric", ["mae", "rmse", "r2"])
def test_a_regression_metric_on_class_scores_is_refused_naming_it_after_one_batch(metric):
    model, optimizer, X = setup()
    y = np.arange(20) % 3
    counter = BatchCounter()
    with pytest.raises(ShapeError) as caught:
        train(model, optimizer, X, y, metrics=["accuracy", metric], callbacks=[counter])
    message = str(caught.value)
    assert message.startswith(f"fit: metric {metric!r} is a regression metric")
    assert "3 values per target, class scores against class labels" in message
    assert "use a classification metric (accuracy, top_k_accuracy, precision, recall, f1)" \
        in message
    assert counter.batches == 0  # refused on the first batch, not at the end of the epoch
    with pytest.raises(ShapeError, match=f"evaluate: metric {metric!r} is a regression metric"):
        annie.evaluate(model, "cross_entropy", X, y, metrics=[metric])


@pytest.mark.parametrize("metric", ["accuracy", "top_k_accuracy", "precision", "recall", "f1"])
def test_a_classification_metric_on_values_is_refused_naming_it(metric):
    model, optimizer, X = setup(outputs=1)
    y = (X[:, 0] * 2.5 + 0.25).astype(np.float32)  # values, not classes
    counter = BatchCounter()
    with pytest.raises(DataError) as caught:
        train(model, optimizer, X, y, loss="mse", metrics=[metric], callbacks=[counter])
    message = str(caught.value)
    assert message.startswith(f"fit: metric {metric!r} is a classification metric")
    assert "not whole numbers (e.g. " in message
    assert "use a regression metric (mae, rmse, r2)" in message
    assert counter.batches == 0
    with pytest.raises(DataError, match=f"evaluate: metric {metric!r} is a classification"):
        annie.evaluate(model, "mse", X, y, metrics=[metric])
    # whole numbers that are no class of the one output (counts, not 0/1) are refused too
    counts = np.round(y * 4)
    expected = (ShapeError, "one score per class") if metric == "top_k_accuracy" else \
        (DataError, "not a class of a probability column .*, whose labels are 0 to 1")
    with pytest.raises(expected[0], match=expected[1]):
        annie.evaluate(model, "mse", X, counts, metrics=[metric])


def test_metrics_that_fit_the_task_still_work_with_any_loss():
    """MSE on one-hot rows or on 0/1 targets is a classification: accuracy reads it; r2 of a
    regression; labels beside scores; hinge's -1/+1 through fit."""
    model, optimizer, X = setup()
    labels = np.arange(20) % 3
    one_hot = np.eye(3, dtype=np.float32)[labels]
    history = train(model, optimizer, X, one_hot, loss="mse",
                    metrics=["accuracy", "top_k_accuracy", "f1"])
    scores = annie.predict(model, X)
    expected = float(np.mean(scores.argmax(axis=1) == labels))
    assert annie.evaluate(model, "mse", X, one_hot, metrics=["accuracy"])["accuracy"] == \
        pytest.approx(expected)
    assert np.isfinite(history.history["f1"][0])
    binary = (X[:, 0] > 0).astype(np.float32)
    single, optimizer, _ = setup(outputs=1)
    train(single, optimizer, X, binary, loss="mse", metrics=["accuracy", "r2"])
    train(single, optimizer, X, np.where(binary > 0, 1.0, -1.0).astype(np.float32),
          loss="hinge", metrics=["accuracy", "precision"])
    values = (X[:, 0] * 2.5).astype(np.float32)
    result = annie.evaluate(single, "mse", X, values, metrics=["mae", "rmse", "r2"])
    prediction = annie.predict(single, X)[:, 0]
    assert result["mae"] == pytest.approx(float(np.mean(np.abs(prediction - values))),
                                          rel=1e-5)
