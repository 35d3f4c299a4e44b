"""Metrics against scikit-learn's implementations on random predictions."""
import numpy as np
import pytest

from annie.errors import ConfigError, DataError, ShapeError
from annie.train import metrics

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def classification():
    generator = np.random.default_rng(3)
    scores = generator.normal(size=(200, 6)).astype(np.float32)
    target = generator.integers(0, 6, size=200)
    # make the predictions better than chance so every class appears
    scores[np.arange(100), target[:100]] += 2.0
    return scores, target


def test_accuracy_matches_sklearn(classification):
    scores, target = classification
    expected = sk.accuracy_score(target, scores.argmax(1))
    assert metrics.accuracy(scores, target) == pytest.approx(expected, abs=1e-12)
    assert metrics.accuracy(scores.argmax(1), target) == pytest.approx(expected, abs=1e-12)


def test_accuracy_one_hot_targets_and_probability_column():
    target = np.array([0, 1, 1, 0, 1])
    probability = np.array([[0.2], [0.7], [0.4], [0.6], [0.9]])
    assert metrics.accuracy(probability, target) == pytest.approx(3 / 5)
    one_hot = np.eye(3)[[0, 2, 1]]
    assert metrics.accuracy(np.eye(3)[[0, 2, 2]], one_hot) == pytest.approx(2 / 3)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_sklearn(classification, k):
    scores, target = classification
    expected = sk.top_k_accuracy_score(target, scores, k=k, labels=np.arange(6))
    assert metrics.top_k_accuracy(scores, target, k=k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_macro_scores_match_sklearn(classification, name):
    scores, target = classification
    labels = scores.argmax(1)
    reference = {"precision": sk.precision_score, "recall": sk.recall_score,
                 "f1": sk.f1_score}[name]
    expected = reference(target, labels, average="macro", zero_division=0)
    assert getattr(metrics, name)(scores, target) == pytest.approx(expected, abs=1e-12)


def test_macro_scores_with_a_class_never_predicted():
    target = np.array([0, 1, 2, 2, 1, 0])
    labels = np.array([0, 1, 1, 1, 1, 0])  # class 2 never predicted
    for name, reference in (("precision", sk.precision_score), ("recall", sk.recall_score),
                            ("f1", sk.f1_score)):
        expected = reference(target, labels, average="macro", zero_division=0)
        assert getattr(metrics, name)(labels, target) == pytest.approx(expected, abs=1e-12)


def test_confusion_matrix_matches_sklearn(classification):
    scores, target = classification
    expected = sk.confusion_matrix(target, scores.argmax(1), labels=np.arange(6))
    np.testing.assert_array_equal(metrics.confusion_matrix(scores, target), expected)
    assert metrics.confusion_matrix(scores, target, num_classes=8).shape == (8, 8)


def test_recurrent_outputs_are_flattened_per_step():
    generator = np.random.default_rng(0)
    scores = generator.normal(size=(4, 5, 3))
    target = generator.integers(0, 3, size=(4, 5))
    expected = sk.accuracy_score(target.ravel(), scores.reshape(-1, 3).argmax(1))
    assert metrics.accuracy(scores, target) == pytest.approx(expected)


@pytest.mark.parametrize("shape", [(50,), (50, 1), (50, 3)])
def test_regression_metrics_match_sklearn(shape):
    generator = np.random.default_rng(1)
    target = generator.normal(size=shape)
    prediction = target + 0.5 * generator.normal(size=shape)
    assert metrics.mae(prediction, target) == pytest.approx(
        sk.mean_absolute_error(target, prediction), rel=1e-12)
    assert metrics.rmse(prediction, target) == pytest.approx(
        np.sqrt(sk.mean_squared_error(target, prediction)), rel=1e-12)
    assert metrics.r2(prediction, target) == pytest.approx(sk.r2_score(target, prediction),
                                                           rel=1e-12)


def test_get_metric_by_name_and_errors():
    assert metrics.get_metric("accuracy") == ("accuracy", metrics.accuracy)
    assert metrics.get_metric("f1")[1] is metrics.f1
    with pytest.raises(ConfigError, match="did you mean 'accuracy'"):
        metrics.get_metric("acuracy")
    with pytest.raises(ShapeError):
        metrics.accuracy(np.zeros((3, 2)), np.zeros(4, dtype=int))


def test_metrics_after_a_logits_loss_threshold_at_the_decision_boundary():
    """With binary_cross_entropy_with_logits (or hinge) the model outputs scores whose decision
    is at 0; fit/evaluate's accuracy must use that boundary, not 0.5 on the raw score."""
    import annie
    from annie import losses, nn

    class Fixed(nn.Module):
        def forward(self, x):
            return x  # the inputs are the scores

    scores = np.array([[-2.0], [0.2], [0.4], [3.0]], dtype=np.float32)  # 0.2, 0.4: class 1
    targets = np.array([[0.0], [1.0], [1.0], [1.0]], dtype=np.float32)
    model = Fixed()
    for loss in (losses.binary_cross_entropy_with_logits, losses.BCEWithLogits(), "hinge"):
        result = annie.evaluate(model, loss, scores, targets, metrics=["accuracy"])
        assert result["accuracy"] == 1.0, loss
    # with a probability loss the same numbers are probabilities: 0.2 and 0.4 are class 0
    result = annie.evaluate(model, losses.mse, scores, targets, metrics=["accuracy"])
    assert result["accuracy"] == 0.5


def test_a_metric_of_the_other_task_names_itself_and_why(classification):
    scores, target = classification
    for name in ("mae", "rmse", "r2"):
        with pytest.raises(ShapeError, match=f"metric '{name}' is a regression metric .* 6 "
                                             f"values per target, class scores against class "
                                             f"labels"):
            metrics.METRICS[name](scores, target)
    values = np.linspace(-1.3, 2.9, 200)
    for name in ("accuracy", "top_k_accuracy", "precision", "recall", "f1"):
        with pytest.raises(DataError, match=f"metric '{name}' is a classification metric .* "
                                            f"not whole numbers"):
            metrics.METRICS[name](scores, values)
    with pytest.raises(DataError, match="holds 6, not a class of the prediction's 6 class "
                                        "scores, whose labels are 0 to 5"):
        metrics.accuracy(scores, np.where(target == 0, 6, target))
    with pytest.raises(DataError, match="read as one-hot or probability rows, hold 2.5"):
        metrics.accuracy(scores, np.full(scores.shape, 2.5))


def test_top_k_accuracy_reads_one_hot_targets_as_their_classes(classification):
    scores, target = classification
    one_hot = np.eye(6)[target]
    assert metrics.top_k_accuracy(scores, one_hot, k=2) == \
        metrics.top_k_accuracy(scores, target, k=2)
