"""annie.losses: golden values and gradients from PyTorch (tests/fixtures/losses.npz), stability
at logits of 1e4, the fused ops against their composite forms, semantics that PyTorch does not
pin down (RMSE, hinge labels, KL's 0 log 0), every error path, get_loss and the class forms.
(Gradchecks and NumPy references of every loss and reduction: tests/registry/losses.py.)"""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import losses as L
from annie.errors import ConfigError, DataError, DTypeError, ShapeError
from conftest import load_fixture

_GEN_PATH = pathlib.Path(__file__).parent / "fixtures" / "gen_losses.py"
_spec = importlib.util.spec_from_file_location("gen_losses", _GEN_PATH)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

FIXTURE = load_fixture("losses")
# float64 values are the same formula in both libraries up to summation order; float32 differs
# by a few ulps of the largest intermediate (log-sum-exp, sums over 24 elements).
TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


def _run(config: str, dtype: str, reduction: str):
    """annie's value and gradients for one fixture configuration."""
    name, options, _, _, target_grad = gen.CONFIGS[config]
    prediction = annie.tensor(FIXTURE[gen.key(config, dtype, None, "prediction")].copy(),
                              requires_grad=True)
    target_array = FIXTURE[gen.key(config, dtype, None, "target")].copy()
    target = annie.tensor(target_array, requires_grad=True) if target_grad else target_array
    options = {k: v.astype(dtype) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    value = L.get_loss(name)(prediction, target, reduction=reduction, **options)
    value.backward(FIXTURE[gen.key(config, dtype, reduction, "upstream")])
    return value, prediction, target


@pytest.mark.parametrize("reduction", gen.REDUCTIONS)
@pytest.mark.parametrize("dtype", gen.DTYPES)
@pytest.mark.parametrize("config", list(gen.CONFIGS))
def test_golden_values_and_gradients_from_pytorch(config, dtype, reduction):
    value, prediction, target = _run(config, dtype, reduction)
    tolerance = TOLERANCE[dtype]
    assert value.dtype == np.dtype(dtype)
    np.testing.assert_allclose(value.data, FIXTURE[gen.key(config, dtype, reduction, "value")],
                               **tolerance)
    np.testing.assert_allclose(prediction.grad,
                               FIXTURE[gen.key(config, dtype, reduction, "grad_prediction")],
                               **tolerance)
    target_key = gen.key(config, dtype, reduction, "grad_target")
    if target_key in FIXTURE:
        np.testing.assert_allclose(target.grad, FIXTURE[target_key], **tolerance)


# ----- stability ----------------------------------------------------------------------------------
HUGE_LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [1e4, 1e4, -1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss, target", [
    (L.cross_entropy, np.array([1, 0, 2])),
    (L.cross_entropy, np.full((3, 3), 1 / 3)),
    (lambda x, y: L.cross_entropy(x, y, label_smoothing=0.1), np.array([0, 1, 2])),
    (L.binary_cross_entropy_with_logits, (HUGE_LOGITS < 0) * 1.0),
    (lambda x, y: L.binary_cross_entropy_with_logits(x, y, pos_weight=np.array([2.0, 0.5, 1.0])),
     (HUGE_LOGITS < 0) * 1.0),
    (L.log_cosh, np.zeros((3, 3))),
    (L.huber, np.zeros((3, 3))),
    (L.hinge, np.ones((3, 3))),
    (L.rmse, np.zeros((3, 3))),
], ids=["ce", "ce_probabilities", "ce_smoothing", "bce_logits", "bce_logits_pos_weight",
        "log_cosh", "huber", "hinge", "rmse"])
def test_finite_values_and_gradients_at_logits_of_1e4(loss, target, dtype):
    logits = annie.tensor(HUGE_LOGITS.astype(dtype), requires_grad=True)
    target = target.astype(dtype) if target.dtype.kind == "f" else target
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        value = loss(logits, target)
        value.backward()
    assert np.isfinite(value.item())
    assert np.all(np.isfinite(logits.grad))


def test_stable_values_at_1e4_are_the_exact_limits():
    # wrong-class logit margin of 2e4: the loss is the margin itself, the gradient softmax - onehot
    logits = annie.tensor(np.array([[1e4, -1e4]]), requires_grad=True)
    value = L.cross_entropy(logits, np.array([1]))
    value.backward()
    assert value.item() == pytest.approx(2e4, rel=1e-15)
    np.testing.assert_allclose(logits.grad, [[1.0, -1.0]])
    logits = annie.tensor(np.array([1e4, -1e4]), requires_grad=True)
    value = L.binary_cross_entropy_with_logits(logits, np.array([0.0, 1.0]), reduction="sum")
    value.backward()
    assert value.item() == pytest.approx(2e4, rel=1e-15)
    np.testing.assert_allclose(logits.grad, [1.0, -1.0])
    # log(cosh(1000)) = 1000 - log 2 (cosh itself overflows)
    assert L.log_cosh(np.array([1000.0]), np.array([0.0])).item() == pytest.approx(1000 - np.log(2))


# ----- fused ops against their composite forms ------------------------------------------------------
def _grads(fn, x):
    x = annie.tensor(x.copy(), requires_grad=True)
    value = fn(x)
    value.backward()
    return value.data, x.grad


def test_cross_entropy_is_one_fused_node_equal_to_log_softmax_plus_nll():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 5)) * 2
    labels = rng.integers(0, 5, 7)
    value = L.cross_entropy(annie.tensor(logits, requires_grad=True), labels)
    assert type(value._ctx).__name__ == "CrossEntropyFunction"
    assert all(parent._ctx is None for parent in value._ctx.parents)  # straight from the leaf
    fused = _grads(lambda x: L.cross_entropy(x, labels), logits)
    composite = _grads(lambda x: L.nll_loss(F.log_softmax(x, axis=1), labels), logits)
    np.testing.assert_allclose(fused[0], composite[0], rtol=1e-13)
    np.testing.assert_allclose(fused[1], composite[1], rtol=1e-12, atol=1e-15)


def test_bce_with_logits_is_one_fused_node_equal_to_sigmoid_plus_bce():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3)) * 3
    target = rng.uniform(size=(4, 3))
    value = L.binary_cross_entropy_with_logits(annie.tensor(logits, requires_grad=True), target)
    assert type(value._ctx).__name__ == "Mean"
    assert type(value._ctx.parents[0]._ctx).__name__ == "BinaryCrossEntropyWithLogitsFunction"
    fused = _grads(lambda x: L.binary_cross_entropy_with_logits(x, target), logits)
    composite = _grads(lambda x: L.binary_cross_entropy(F.sigmoid(x), target), logits)
    np.testing.assert_allclose(fused[0], composite[0], rtol=1e-12)
    np.testing.assert_allclose(fused[1], composite[1], rtol=1e-10, atol=1e-15)


# ----- semantics -------------------------------------------------------------------------------------
def test_mean_bias_error_has_the_lectures_sign():
    # target - prediction: a model that predicts too low has a positive bias
    assert L.mean_bias_error(np.array([1.0, 2.0]), np.array([2.0, 4.0])).item() == pytest.approx(1.5)


def test_rmse_reductions_and_zero_error_gradient():
    prediction = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.array([[1.0, 0.0], [3.0, 2.0]])  # errors 0, 2, 0, 3
    assert L.rmse(prediction, target).item() == pytest.approx(np.sqrt(13 / 4))
    assert L.rmse(prediction, target, reduction="sum").item() == pytest.approx(np.sqrt(13))
    np.testing.assert_allclose(L.rmse(prediction, target, reduction="none").data, [[0, 2], [0, 3]])
    exact = annie.tensor(target.copy(), requires_grad=True)
    L.rmse(exact, target).backward()
    np.testing.assert_array_equal(exact.grad, np.zeros((2, 2)))  # 0, not 0/0


def test_hinge_maps_zero_one_labels_to_minus_one_one():
    scores = np.array([0.3, -2.0, 0.8, -0.1])
    signed = L.hinge(scores, np.array([1, -1, -1, 1]), reduction="none")
    zero_one = L.hinge(scores, np.array([1, 0, 0, 1]), reduction="none")
    np.testing.assert_allclose(zero_one.data, signed.data)
    np.testing.assert_allclose(signed.data, [0.7, 0.0, 1.8, 1.1])
    assert L.hinge(scores, np.array([1.0, 1.0, 1.0, 1.0])).item() == pytest.approx(
        np.mean([0.7, 3.0, 0.2, 1.1]))


def test_kl_divergence_treats_0_log_0_as_0_and_is_zero_for_equal_distributions():
    target = np.array([[0.5, 0.0, 0.5]])
    prediction = annie.tensor(np.array([[0.25, 0.5, 0.25]]), requires_grad=True)
    value = L.kl_divergence(prediction, target)
    value.backward()
    assert value.item() == pytest.approx(np.log(2))
    np.testing.assert_allclose(prediction.grad, [[-2.0, 0.0, -2.0]])
    same = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    assert L.kl_divergence(same, same).item() == 0.0
    assert L.kl_divergence(same, same, reduction="none").shape == (2,)


def test_kl_divergence_target_gradient_is_zero_where_target_is_zero():
    target = annie.tensor(np.array([[0.5, 0.0, 0.5]]), requires_grad=True)
    L.kl_divergence(np.array([[0.25, 0.5, 0.25]]), target).backward()
    np.testing.assert_allclose(target.grad, [[np.log(2) + 1, 0.0, np.log(2) + 1]])


def test_cross_entropy_ignore_index_rows_get_no_loss_and_no_gradient():
    logits = annie.tensor(np.random.default_rng(2).normal(size=(3, 4)), requires_grad=True)
    value = L.cross_entropy(logits, np.array([2, -100, 1]), label_smoothing=0.3)
    value.backward()
    np.testing.assert_array_equal(logits.grad[1], np.zeros(4))
    kept = L.cross_entropy(logits.data[[0, 2]], np.array([2, 1]), label_smoothing=0.3)
    assert value.item() == pytest.approx(kept.item(), rel=1e-12)


def test_cross_entropy_one_unbatched_sample():
    logits = np.array([1.0, 2.0, 0.5])
    expected = -np.log(np.exp(2.0) / np.exp(logits).sum())
    value = L.cross_entropy(logits, np.array(1), reduction="none")
    assert value.shape == ()
    assert value.item() == pytest.approx(expected)


def test_losses_accept_plain_arrays_and_keep_float32():
    prediction = np.ones((2, 3), dtype=np.float32)
    assert L.mse(prediction, [[1, 2, 3], [4, 5, 6]]).dtype == np.float32
    assert L.cross_entropy(prediction, np.array([0, 2])).dtype == np.float32
    assert L.mse(prediction, np.zeros((2, 3))).dtype == np.float32  # float64 target follows


# ----- errors ------------------------------------------------------------------------------------------
LOSS_CALLS = [
    (L.mean_bias_error, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.mae, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.mse, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.rmse, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.huber, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.log_cosh, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.binary_cross_entropy, np.full((2, 3), 0.5), np.zeros((2, 3))),
    (L.binary_cross_entropy_with_logits, np.zeros((2, 3)), np.zeros((2, 3))),
    (L.hinge, np.zeros((2, 3)), np.ones((2, 3))),
    (L.cross_entropy, np.zeros((2, 3)), np.array([0, 1])),
    (L.nll_loss, np.zeros((2, 3)), np.array([0, 1])),
    (L.kl_divergence, np.full((2, 3), 1 / 3), np.full((2, 3), 1 / 3)),
]
LOSS_IDS = [call[0].__name__ for call in LOSS_CALLS]


@pytest.mark.parametrize("loss, prediction, target", LOSS_CALLS, ids=LOSS_IDS)
def test_bad_reduction_is_a_config_error_naming_reduction(loss, prediction, target):
    loss(prediction, target, reduction="sum")  # the valid call works
    with pytest.raises(ConfigError, match="reduction"):
        loss(prediction, target, reduction="average")


@pytest.mark.parametrize("loss, prediction, target", LOSS_CALLS[:9] + LOSS_CALLS[11:],
                         ids=LOSS_IDS[:9] + LOSS_IDS[11:])
def test_shape_disagreement_is_a_shape_error_naming_both_shapes(loss, prediction, target):
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        loss(prediction, target.reshape(3, 2))


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
def test_class_label_errors(loss):
    logits = np.zeros((2, 3))
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(2,\).*\(3,\)"):
        loss(logits, np.array([0, 1, 2]))
    with pytest.raises(DTypeError, match="integers.*float64"):
        loss(logits, np.array([0.0, 1.0]))
    with pytest.raises(DataError, match=r"label 3.*3 classes"):
        loss(logits, np.array([0, 3]))
    with pytest.raises(DataError, match=r"label -1.*3 classes"):
        loss(logits, np.array([-1, 0]))
    with pytest.raises(ShapeError, match="weight"):
        loss(logits, np.array([0, 1]), weight=np.ones(4))
    with pytest.raises(ConfigError, match="ignore_index"):
        loss(logits, np.array([0, 1]), ignore_index=1.5)


def test_cross_entropy_option_errors():
    with pytest.raises(ConfigError, match="label_smoothing"):
        L.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ShapeError, match="class axis"):
        L.cross_entropy(np.zeros(()), np.array(0))


def test_hinge_rejects_labels_outside_minus_one_one_and_zero_one():
    with pytest.raises(DataError, match="hinge.*2"):
        L.hinge(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(DataError, match="hinge"):
        L.hinge(np.zeros(3), np.array([-1, 0, 1]))


def test_probability_and_option_errors():
    with pytest.raises(DataError, match="binary_cross_entropy.*1.5"):
        L.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0]))
    with pytest.raises(DataError, match="kl_divergence.*prediction.*-0.1"):
        L.kl_divergence(np.array([[1.1, -0.1]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ConfigError, match="delta"):
        L.huber(np.zeros(2), np.zeros(2), delta=0.0)
    with pytest.raises(ConfigError, match="delta"):
        L.Huber(delta=-1.0)
    with pytest.raises(ShapeError, match="pos_weight"):
        L.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=np.ones(2))
    with pytest.raises(DTypeError, match="prediction"):
        L.mse(np.array([1, 2]), np.array([1.0, 2.0]))
    with pytest.raises(DTypeError, match="dtype"):
        L.mse(annie.tensor(np.zeros(2)), annie.tensor(np.zeros(2, np.float32), requires_grad=True))


# ----- lookup, descriptions, class forms ----------------------------------------------------------------
def test_get_loss_by_name_alias_and_spelling():
    assert L.get_loss("mse") is L.mse
    assert L.get_loss("Cross-Entropy") is L.cross_entropy
    assert L.get_loss("l1") is L.mae
    assert L.get_loss("bce") is L.binary_cross_entropy
    for name in L.loss_names():
        assert callable(L.get_loss(name))


def test_get_loss_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="'msee'.*mse.*cross_entropy.*kl_divergence"):
        L.get_loss("msee")


def test_descriptions_cover_every_canonical_loss_in_one_line():
    canonical = [name for name in L.loss_names() if name not in L.ALIASES]
    descriptions = L.LOSSES.descriptions()
    assert sorted(descriptions) == sorted(canonical)
    assert len(canonical) == 12
    assert all(text and "\n" not in text for text in descriptions.values())
    assert descriptions["mse"] == L.mse.__doc__.strip().splitlines()[0]


@pytest.mark.parametrize("loss_object, function, target", [
    (L.MSE(), L.mse, np.ones((2, 3))),
    (L.MAE(reduction="sum"), lambda p, t: L.mae(p, t, reduction="sum"), np.ones((2, 3))),
    (L.Huber(delta=0.3, reduction="none"), lambda p, t: L.huber(p, t, "none", delta=0.3),
     np.ones((2, 3))),
    (L.CrossEntropy(label_smoothing=0.1, weight=np.array([1.0, 2.0, 3.0])),
     lambda p, t: L.cross_entropy(p, t, label_smoothing=0.1, weight=np.array([1.0, 2.0, 3.0])),
     np.array([2, 0])),
    (L.BCEWithLogits(pos_weight=np.array([2.0, 1.0, 1.0])),
     lambda p, t: L.binary_cross_entropy_with_logits(p, t, pos_weight=np.array([2.0, 1.0, 1.0])),
     np.ones((2, 3))),
    (L.KLDivergence(reduction="batchmean"),
     lambda p, t: L.kl_divergence(p, t, reduction="batchmean"), np.full((2, 3), 1 / 3)),
], ids=["MSE", "MAE", "Huber", "CrossEntropy", "BCEWithLogits", "KLDivergence"])
def test_class_form_equals_function(loss_object, function, target):
    prediction = np.random.default_rng(3).uniform(0.1, 0.9, (2, 3))
    np.testing.assert_array_equal(loss_object(prediction, target).data,
                                  function(prediction, target).data)


def test_every_class_form_exists_and_checks_reduction():
    for cls in (L.MeanBiasError, L.MAE, L.L1, L.MSE, L.RMSE, L.Huber, L.LogCosh, L.BCE,
                L.BinaryCrossEntropy, L.BCEWithLogits, L.Hinge, L.CrossEntropy, L.NLLLoss,
                L.KLDivergence):
        assert cls().reduction == "mean"
        assert "reduction='sum'" in repr(cls(reduction="sum"))
        with pytest.raises(ConfigError, match="reduction"):
            cls(reduction="avg")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_cosh_keeps_precision_near_zero(dtype):
    """log(cosh(d)) ~ d^2/2 - d^4/12 for small d: no cancellation to 0 (float64 closed form)."""
    differences = np.array([1e-9, 3e-8, 1e-5, 1e-3, -2e-3], dtype=dtype)
    prediction = annie.tensor(differences)
    target = annie.tensor(np.zeros_like(differences))
    value = annie.losses.log_cosh(prediction, target, reduction="none").data
    d = differences.astype(np.float64)
    expected = d ** 2 / 2 - d ** 4 / 12 + d ** 6 / 45
    np.testing.assert_allclose(value, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert value.dtype == dtype


# ----- cross_entropy's path for plain integer labels ---------------------------------------------
def _general_cross_entropy(logits, labels, reduction):
    """The general path (weights, smoothing, ignored rows) with none of them used: the reference."""
    from annie.losses.cross_entropy import CrossEntropyFunction
    return CrossEntropyFunction.apply(logits, labels.astype(np.int64), class_targets=True,
                                      reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("logits_shape, label_dtype", [
    ((6, 4), np.int64), ((6, 4), np.int32), ((5,), np.int64), ((3, 4, 2), np.uint8)])
def test_plain_labels_path_equals_the_general_path_exactly(reduction, dtype, logits_shape,
                                                           label_dtype):
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=logits_shape) * 3).astype(dtype)
    position_shape = () if len(logits_shape) == 1 else (logits_shape[0], *logits_shape[2:])
    num_classes = logits_shape[1 if len(logits_shape) > 1 else 0]
    labels = rng.integers(0, num_classes, position_shape).astype(label_dtype)
    upstream = rng.normal(size=position_shape).astype(dtype) if reduction == "none" else None
    results = []
    for loss in (lambda x: L.cross_entropy(x, labels, reduction=reduction),
                 lambda x: _general_cross_entropy(x, labels, reduction)):
        x = annie.tensor(logits.copy(), requires_grad=True)
        value = loss(x)
        results.append((value._ctx.plain, value.data, value.dtype))
        value.backward(upstream)
        results[-1] += (x.grad,)
    (plain, value, value_dtype, grad), (general, expected, expected_dtype, expected_grad) = results
    assert plain and not general
    assert value_dtype == expected_dtype == dtype
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("options, labels", [
    ({}, np.array([2, -100, 1])),                      # an ignored row present
    ({"ignore_index": 1}, np.array([2, 0, 0])),        # ignore_index is a valid class
    ({"weight": np.array([1.0, 2.0, 0.5])}, np.array([2, 0, 1])),
    ({"label_smoothing": 0.1}, np.array([2, 0, 1])),
])
def test_labels_with_options_or_ignored_rows_take_the_general_path(options, labels):
    logits = annie.tensor(np.arange(9.0).reshape(3, 3) / 4, requires_grad=True)
    assert not L.cross_entropy(logits, labels, **options)._ctx.plain
    assert L.cross_entropy(logits, np.array([2, 0, 1]))._ctx.plain


def test_plain_labels_path_without_gradient_and_under_no_grad():
    logits = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
    labels = np.array([2, 0])
    expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[[0, 1], labels])
    assert L.cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-14)
    with annie.no_grad():
        assert L.cross_entropy(annie.tensor(logits, requires_grad=True), labels).item() \
            == pytest.approx(expected, rel=1e-14)
