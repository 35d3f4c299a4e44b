"""The loss ``evaluate`` and ``fit`` report is the loss of the whole set, for every loss and
reduction, whatever the batch size: checked against closed forms in NumPy (float64) and against
the loss applied once to all the data."""
import functools

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

import annie
from annie import losses, nn
from annie.errors import ConfigError
from annie.train.inputs import resolve_loss
from annie.train.loss_average import LossAverage

from train_helpers import PlainSGD

N = 23  # batch sizes 2, 3, 5 and 7 all leave a short last batch
BATCH_SIZES = [1, 2, 3, 5, 7, N]
CLASS_WEIGHT = np.array([0.1, 1.0, 5.0])


def passthrough(width):
    """A float64 Linear with identity weights: its output is its input, so X is the prediction."""
    layer = nn.Linear(width, width, dtype=np.float64)
    layer.weight.data[...] = np.eye(width)
    layer.bias.data[...] = 0.0
    return layer


def data(kind, seed=0):
    """(prediction, target) of the whole set for a kind of loss."""
    generator = np.random.default_rng(seed)
    if kind == "regression":  # three outputs per row
        return generator.normal(size=(N, 3)), generator.normal(size=(N, 3))
    if kind == "labels":  # logits and class labels, skewed so class weights matter
        return generator.normal(size=(N, 3)) * 2, generator.choice(3, size=N, p=[0.6, 0.3, 0.1])
    if kind == "ignored":  # labels with ignored rows (-100), none in some batches
        labels = generator.integers(0, 3, size=N)
        labels[[1, 2, 3, 8, 15, 16]] = -100
        return generator.normal(size=(N, 3)), labels
    if kind == "probabilities":
        target = generator.dirichlet(np.ones(3), size=N)
        return generator.normal(size=(N, 3)), target
    if kind == "distributions":
        prediction = generator.dirichlet(np.ones(3), size=N)
        return prediction, generator.dirichlet(np.ones(3), size=N)
    if kind == "binary_probability":
        return generator.uniform(0.05, 0.95, size=(N, 2)), generator.integers(0, 2, (N, 2)) * 1.0
    if kind == "binary_logit":
        return generator.normal(size=(N, 2)) * 2, generator.integers(0, 2, (N, 2)) * 1.0
    if kind == "signed":
        return generator.normal(size=(N, 1)), generator.choice([-1.0, 1.0], size=(N, 1))
    if kind == "log_probabilities":
        logits = generator.normal(size=(N, 3))
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)), \
            generator.choice(3, size=N, p=[0.6, 0.3, 0.1])
    raise ValueError(kind)


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# ----- closed forms of the whole set, in NumPy ------------------------------------------------
def reference_weighted_cross_entropy(prediction, target):
    picked = -log_softmax(prediction)[np.arange(N), target]
    weights = CLASS_WEIGHT[target]
    return np.sum(weights * picked) / np.sum(weights)


def reference_ignored_cross_entropy(prediction, target):
    kept = target != -100
    return np.mean(-log_softmax(prediction[kept])[np.arange(kept.sum()), target[kept]])


def reference_sum_mse(prediction, target):
    return np.sum((prediction - target) ** 2)


def reference_mse(prediction, target):  # per element: N * 3 terms
    return np.mean((prediction - target) ** 2)


def reference_rmse(prediction, target):
    return np.sqrt(np.mean((prediction - target) ** 2))


def reference_kl_batchmean(prediction, target):
    return np.sum(target * np.log(target / prediction)) / N


def reference_weighted_sum_cross_entropy(prediction, target):
    return np.sum(CLASS_WEIGHT[target] * -log_softmax(prediction)[np.arange(N), target])


CLOSED_FORMS = [
    ("weighted cross-entropy", losses.CrossEntropy(weight=CLASS_WEIGHT), "labels",
     reference_weighted_cross_entropy),
    ("cross-entropy ignore_index", losses.cross_entropy, "ignored",
     reference_ignored_cross_entropy),
    ("MSE reduction=sum", losses.MSE(reduction="sum"), "regression", reference_sum_mse),
    ("MSE of 3 outputs", losses.mse, "regression", reference_mse),
    ("RMSE", losses.rmse, "regression", reference_rmse),
    ("KL batchmean", losses.KLDivergence(reduction="batchmean"), "distributions",
     reference_kl_batchmean),
    ("weighted cross-entropy reduction=sum",
     losses.CrossEntropy(weight=CLASS_WEIGHT, reduction="sum"), "labels",
     reference_weighted_sum_cross_entropy),
]


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("name, loss, kind, reference", CLOSED_FORMS,
                         ids=[case[0] for case in CLOSED_FORMS])
def test_evaluate_equals_the_closed_form_of_the_whole_set(name, loss, kind, reference,
                                                          batch_size):
    prediction, target = data(kind)
    model = passthrough(prediction.shape[1])
    result = annie.evaluate(model, loss, prediction, target, batch_size=batch_size)["loss"]
    assert result == pytest.approx(reference(prediction, target), rel=1e-12)


# ----- every loss and reduction against the loss applied once to the whole set ---------------
EVERY_LOSS = [
    ("mean_bias_error", losses.mean_bias_error, "regression"),
    ("mae", losses.mae, "regression"),
    ("mse", losses.mse, "regression"),
    ("rmse", losses.rmse, "regression"),
    ("rmse sum", losses.RMSE(reduction="sum"), "regression"),
    ("huber", losses.Huber(delta=0.5), "regression"),
    ("log_cosh", losses.log_cosh, "regression"),
    ("mae sum", losses.MAE(reduction="sum"), "regression"),
    ("bce", losses.binary_cross_entropy, "binary_probability"),
    ("bce weighted", losses.BinaryCrossEntropy(weight=np.array([0.2, 3.0])),
     "binary_probability"),
    ("bce logits pos_weight", losses.BCEWithLogits(pos_weight=np.array([4.0, 0.5])),
     "binary_logit"),
    ("bce logits sum", losses.BCEWithLogits(reduction="sum"), "binary_logit"),
    ("hinge", losses.hinge, "signed"),
    ("cross_entropy", losses.cross_entropy, "labels"),
    ("cross_entropy weighted", losses.CrossEntropy(weight=CLASS_WEIGHT), "labels"),
    ("cross_entropy weighted smoothing",
     losses.CrossEntropy(weight=CLASS_WEIGHT, label_smoothing=0.2), "labels"),
    ("cross_entropy ignore_index weighted", losses.CrossEntropy(weight=CLASS_WEIGHT), "ignored"),
    ("cross_entropy probabilities", losses.cross_entropy, "probabilities"),
    ("cross_entropy sum", losses.CrossEntropy(reduction="sum"), "ignored"),
    ("cross_entropy partial weighted", functools.partial(losses.cross_entropy,
                                                         weight=CLASS_WEIGHT), "labels"),
    ("cross_entropy by name", "cross_entropy", "labels"),
    ("nll weighted", losses.NLLLoss(weight=CLASS_WEIGHT), "log_probabilities"),
    ("kl_divergence", losses.kl_divergence, "distributions"),
    ("kl_divergence batchmean", losses.KLDivergence(reduction="batchmean"), "distributions"),
    ("kl_divergence sum", losses.KLDivergence(reduction="sum"), "distributions"),
]


def whole_set_loss(loss, prediction, target):
    loss_fn = resolve_loss(loss)
    return float(loss_fn(annie.tensor(prediction), annie.tensor(target)).data)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("name, loss, kind", EVERY_LOSS, ids=[case[0] for case in EVERY_LOSS])
def test_evaluate_equals_the_loss_of_the_whole_set(name, loss, kind, batch_size):
    prediction, target = data(kind)
    model = passthrough(prediction.shape[1])
    result = annie.evaluate(model, loss, prediction, target, batch_size=batch_size)["loss"]
    assert result == pytest.approx(whole_set_loss(loss, prediction, target), rel=1e-12)


@pytest.mark.parametrize("batch_size", [2, 7])
@pytest.mark.parametrize("name, loss, kind", EVERY_LOSS, ids=[case[0] for case in EVERY_LOSS])
def test_fit_loss_and_val_loss_are_those_of_the_whole_sets(name, loss, kind, batch_size):
    """With a learning rate of 0 the weights stay put, so the epoch's loss must be the loss of
    the whole training set, and val_loss that of the whole validation set."""
    prediction, target = data(kind)
    validation = data(kind, seed=1)
    model = passthrough(prediction.shape[1])
    history = annie.fit(model, loss, PlainSGD(model.parameters(), lr=0.0), prediction, target,
                        epochs=2, batch_size=batch_size, validation_data=validation, verbose=0)
    expected = whole_set_loss(loss, prediction, target)
    assert history.history["loss"] == pytest.approx([expected, expected], rel=1e-12)
    assert history.history["val_loss"][-1] == pytest.approx(
        whole_set_loss(loss, *validation), rel=1e-12)


def test_the_reported_example_weighted_cross_entropy_with_batch_size_2():
    """CrossEntropy(weight=[0.1, 1, 5]) divides by the summed weights of the targets: the batch
    means weighted by their row counts (the sample-weighted mean) are not the set's loss."""
    logits = np.random.default_rng(0).normal(size=(6, 3))
    labels = np.array([2, 0, 0, 0, 1, 0])
    loss = losses.CrossEntropy(weight=[0.1, 1, 5])
    picked = -log_softmax(logits)[np.arange(6), labels]
    weights = np.array([0.1, 1, 5])[labels]
    expected = np.sum(weights * picked) / np.sum(weights)
    for batch_size in (1, 2, 4, 6):
        result = annie.evaluate(passthrough(3), loss, logits, labels, batch_size=batch_size)
        assert result["loss"] == pytest.approx(expected, rel=1e-12), batch_size
    row_weighted = np.mean([np.sum(weights[i:i + 2] * picked[i:i + 2]) / np.sum(weights[i:i + 2])
                            for i in range(0, 6, 2)])
    assert abs(row_weighted - expected) > 0.1  # what re-averaging by batch sizes reported


def test_truncated_bptt_loss_is_that_of_the_whole_set():
    """Chunks of 3, 3 and 1 time steps with per-step targets add up to the whole sequences."""
    generator = np.random.default_rng(0)
    X = generator.normal(size=(8, 7, 2))
    y = generator.normal(size=(8, 7, 2))
    annie.manual_seed(0)
    rnn_model = TimeDistributedRNN()
    history = annie.fit(rnn_model, "mse", PlainSGD(rnn_model.parameters(), lr=0.0), X, y,
                        epochs=1, batch_size=3, shuffle=False, tbptt=3, verbose=0)
    with annie.no_grad():
        rnn_model.rnn.reset_state()
        whole = losses.mse(rnn_model(annie.tensor(X)), annie.tensor(y)).data
    assert history.history["loss"][0] == pytest.approx(float(whole), rel=1e-12)


class TimeDistributedRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(2, 4, dtype=np.float64)
        self.head = nn.Linear(4, 2, dtype=np.float64)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output)


@pytest.mark.parametrize("batch_size", [2, 5, N])
def test_metrics_are_those_of_the_whole_set(batch_size):
    prediction, labels = data("labels")
    model = passthrough(3)
    results = annie.evaluate(model, None, prediction, labels, batch_size=batch_size,
                             metrics=["accuracy", "f1"])
    assert results["accuracy"] == accuracy_score(labels, prediction.argmax(axis=1))
    regression, target = data("regression")
    history = annie.fit(passthrough(3), "mse", PlainSGD([], lr=0.0), regression, target,
                        epochs=1, batch_size=batch_size, metrics=["r2"], shuffle=False,
                        verbose=0)
    assert history.history["r2"][0] == pytest.approx(r2_score(target, regression), rel=1e-12)


def test_a_loss_that_does_not_reduce_is_refused():
    prediction, target = data("regression")
    with pytest.raises(ConfigError, match="reduction='none'"):
        annie.fit(passthrough(3), losses.MSE(reduction="none"), PlainSGD([], lr=0.0),
                  prediction, target, epochs=1, batch_size=4, verbose=0)
    with pytest.raises(ConfigError, match="evaluate: .*reduction='none'"):
        annie.evaluate(passthrough(3), losses.MSE(reduction="none"), prediction, target)


def test_every_target_ignored_counts_nothing():
    average = LossAverage(losses.cross_entropy)
    part, count = average.share(float("nan"), np.zeros((2, 3)), np.array([-100, -100]))
    assert (part, count) == (0.0, 0.0)
    assert np.isnan(average.value(0.0, 0.0))


def test_fit_skips_a_batch_whose_targets_are_all_ignored():
    """Batch 2 holds only ignored rows: no update from it, no NaN stop, and the epoch's loss
    is that of the rows that count."""
    logits, labels = data("labels")
    labels[2:4] = -100
    model = passthrough(3)
    optimizer = PlainSGD(model.parameters(), lr=0.0)
    seen = []

    class Record(annie.train.Callback):
        def on_batch_end(self, batch, loss):
            seen.append(loss)

    history = annie.fit(model, "cross_entropy", optimizer, logits, labels, epochs=1,
                        batch_size=2, shuffle=False, verbose=0, callbacks=[Record()])
    assert history.stop_reason is None and seen[1] == 0.0
    assert optimizer.steps == 11  # 12 batches, one without any loss term
    assert history.history["loss"][0] == pytest.approx(reference_ignored_cross_entropy(
        logits, labels), rel=1e-12)
