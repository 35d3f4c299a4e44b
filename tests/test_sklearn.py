"""annie.sklearn: scikit-learn's own estimator checks, scikit-learn's tools (Pipeline,
GridSearchCV, cross_val_score, ColumnTransformer, clone, joblib), the training objective against
scikit-learn's MLP, and accuracy on real data beside scikit-learn's MLP."""
from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import (GridSearchCV, KFold, cross_val_score,  # noqa: E402
                                     train_test_split)
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import annie  # noqa: E402
from annie import data  # noqa: E402
from annie.errors import ConfigError  # noqa: E402
from annie.sklearn import (MLPClassifier, MLPRegressor, SequenceClassifier,  # noqa: E402
                           SequenceRegressor)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small networks and few epochs keep scikit-learn's ~60 checks per estimator quick; each still
# has to learn the checks' data (check_classifiers_train wants accuracy > 0.83, regressors R^2 > 0.5).
CHECKED = [
    MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01),
    MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, loss="hinge"),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01),
    SequenceClassifier(hidden_size=8, max_iter=30, learning_rate_init=0.01),
    SequenceClassifier(cell="rnn", hidden_size=8, max_iter=30, learning_rate_init=0.01),
    SequenceRegressor(cell="gru", hidden_size=8, max_iter=100, learning_rate_init=0.02),
]


def _expected_failures(estimator) -> dict:
    """Checks that cannot pass, with the reason: none (every check passes)."""
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _iris():
    X, y = data.load_iris()
    return StandardScaler().fit_transform(X.astype(np.float64)), y


# ----- the contract ------------------------------------------------------------------------
def test_string_labels_classes_and_probabilities():
    X, y = _iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=150, learning_rate_init=0.01,
                          random_state=0).fit(X, names)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    assert np.array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, names) > 0.9
    assert model.n_features_in_ == 4 and model.n_outputs_ == 3
    assert model.n_iter_ == len(model.loss_curve_) == 150 and model.loss_ == model.loss_curve_[-1]
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 3
    assert model.t_ == 150 * 150


def test_binary_has_one_logit_and_two_probability_columns():
    X, y = _iris()
    binary = np.where(y == 0, "yes", "no")
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, learning_rate_init=0.05,
                          random_state=0).fit(X, binary)
    assert model.n_outputs_ == 1 and model.model_[-1].out_features == 1
    proba = model.predict_proba(X)
    logits = annie.predict(model.model_, X)[:, 0]
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-12)
    assert model.score(X, binary) == 1.0


def test_multilabel_and_multioutput_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5]).astype(np.int64)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01,
                          random_state=0).fit(X, Y)
    assert list(model.classes_) == [0, 1, 2]
    prediction = model.predict(X)
    assert prediction.shape == Y.shape and prediction.dtype == Y.dtype
    assert (prediction == Y).mean() > 0.95
    assert model.predict_proba(X).shape == (200, 3)
    targets = np.column_stack([X[:, 0] - X[:, 1], 2 * X[:, 2]])
    regressor = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01,
                             random_state=0).fit(X, targets)
    assert regressor.predict(X).shape == (200, 2) and regressor.score(X, targets) > 0.95


def test_random_state_repeats_and_leaves_annie_generator_alone():
    X, y = _iris()
    annie.manual_seed(123)
    expected_draw = annie.backend.rng().random()
    annie.manual_seed(123)
    first = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=7).fit(X, y)
    assert annie.backend.rng().random() == expected_draw  # the caller's stream is unchanged
    second = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=7).fit(X, y)
    other = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=8).fit(X, y)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.loss_curve_ == second.loss_curve_
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_partial_fit_needs_classes_then_keeps_them():
    X, y = _iris()
    model = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.02, batch_size=16,
                          random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2] and model.n_outputs_ == 3
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.n_iter_ == 31 and model.score(X, y) > 0.8
    with pytest.raises(ValueError, match=r"classes \[5\] not in classes_"):
        model.partial_fit(X[:3], [0, 1, 5])
    model.partial_fit(X, y, classes=[2, 1, 0])  # the same classes again: fine
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 3\] differs from classes_"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_partial_fit_continues_exactly_after_pickling():
    X, y = _iris()
    model = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, batch_size=32)
    model.partial_fit(X, y, classes=[0, 1, 2])
    copy = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    copy.partial_fit(X, y)  # optimizer moments and the random stream came along
    assert np.array_equal(model.predict_proba(X), copy.predict_proba(X))


def test_pickle_holds_arrays_and_joblib_round_trip(tmp_path):
    X, y = _iris()
    model = SequenceClassifier(cell="gru", hidden_size=8, max_iter=5, random_state=0)
    sequences = X[:, :, None]
    model.fit(sequences, y)
    state = model.__getstate__()
    assert "model_" not in state and "_optimizer" not in state
    assert all(isinstance(value, np.ndarray) for value in state["_model_arrays"].values())
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert np.array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))
    assert hasattr(model, "model_")  # pickling did not take the model away from the original


def test_clone_warm_start_and_unfitted():
    X, y = _iris()
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, warm_start=True, random_state=0)
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.fit(X, y)
    model.fit(X, y)  # continues: the epochs add up
    assert model.n_iter_ == 20 and len(model.loss_curve_) == 20
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "model_")


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = data.load_digits()
    model = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                          max_iter=200, learning_rate_init=0.01, random_state=0).fit(X / 16, y)
    assert model.n_iter_ < 200
    assert model.best_validation_score_ == max(model.validation_scores_) > 0.9
    assert len(model.validation_scores_) == model.n_iter_
    best_epoch = int(np.argmax(model.validation_scores_))
    assert model.n_iter_ - 1 - best_epoch >= 3  # stopped after more than 3 epochs without gain


def test_stopping_on_training_loss_and_convergence_warning():
    X, y = _iris()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    options = dict(hidden_layer_sizes=(8,), max_iter=500, tol=0.5, n_iter_no_change=2,
                   random_state=0)
    model = MLPClassifier(**options).fit(X, y)
    # no epoch lowers the loss by 0.5: epochs 2, 3, 4 count, and 3 > n_iter_no_change stops
    assert model.n_iter_ == 4 == SkMLPClassifier(**options).fit(X, y).n_iter_


def test_dtype_follows_X_or_parameter():
    X, y = _iris()
    assert MLPClassifier(max_iter=2).fit(X, y).model_[0].weight.dtype == np.float64
    assert MLPClassifier(max_iter=2).fit(X.astype(np.float32), y).model_[0].weight.dtype \
        == np.float32
    assert MLPClassifier(max_iter=2, dtype="float32").fit(X, y).model_[0].weight.dtype \
        == np.float32


def test_coefs_and_intercepts_in_scikit_learns_layout():
    X, y = _iris()
    model = MLPClassifier(hidden_layer_sizes=(5, 4), max_iter=2, random_state=0).fit(X, y)
    assert [c.shape for c in model.coefs_] == [(4, 5), (5, 4), (4, 3)]
    assert [b.shape for b in model.intercepts_] == [(5,), (4,), (3,)]


@pytest.mark.parametrize("options, message", [
    (dict(solver="lbfgs"), "solver must be one of.*lbfgs is not available"),
    (dict(activation="softsine"), "activation 'softsine'"),
    (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
    (dict(alpha=-1.0), "alpha must be a number in"),
    (dict(batch_size=0), "batch_size must be 'auto' or a positive integer"),
    (dict(loss="mse"), "loss must be one of log_loss, hinge, got 'mse'"),
    (dict(dtype="float16"), "dtype must be"),
    (dict(early_stopping=True, validation_fraction=1.0), "validation_fraction"),
    (dict(shuffle="yes"), "shuffle must be True or False, got 'yes'"),
    (dict(early_stopping=2), "early_stopping must be True or False, got 2"),
])
def test_bad_parameters_are_refused_at_fit_naming_them(options, message):
    X, y = _iris()
    model = MLPClassifier(**options)  # nothing is checked before fit (scikit-learn's rule)
    with pytest.raises(ConfigError, match=message):
        model.fit(X, y)


def test_sequence_parameters_and_shapes_are_checked():
    X, y = _iris()
    with pytest.raises(ConfigError, match="cell must be one of lstm, gru, rnn, got 'transformer'"):
        SequenceClassifier(cell="transformer").fit(X, y)
    model = SequenceClassifier(hidden_size=4, max_iter=2, random_state=0).fit(X[:, :, None], y)
    assert model.n_features_in_ == 4 and model.input_size_ == 1
    assert model.predict(X).shape == (150,)  # (n, T) is the same as (n, T, 1)
    with pytest.raises(ValueError, match="X has 3 time steps, but SequenceClassifier was "
                                         "fitted on sequences of 4 steps"):
        model.predict(X[:, :3, None])
    with pytest.raises(ValueError, match="X has 2 features per time step"):
        model.predict(np.repeat(X[:, :, None], 2, axis=2))


# ----- the objective, against scikit-learn's MLP -------------------------------------------
def test_l2_penalty_op_value_and_gradient():
    from annie.diagnostics import gradcheck
    from annie.sklearn._training import HalfSquaredNorm
    rng = np.random.default_rng(0)
    weights = [annie.tensor(rng.normal(size=shape), requires_grad=True)
               for shape in ((3, 4), (5,), (2, 2, 2))]
    value = HalfSquaredNorm.apply(*weights, scale=0.3)
    expected = 0.15 * sum(float((w.data ** 2).sum()) for w in weights)
    np.testing.assert_allclose(float(value.data), expected, rtol=1e-12)
    gradcheck(lambda *ws: HalfSquaredNorm.apply(*ws, scale=0.3), weights)


def _sklearn_loss_at(estimator_class, weights, biases, X, y, sample_weight, **options):
    """scikit-learn's MLP objective at the given weights: one full-batch epoch of plain SGD with
    a vanishing step reports the loss at the starting weights."""
    reference = estimator_class(hidden_layer_sizes=(weights[0].shape[1],), solver="sgd",
                                momentum=0.0, learning_rate_init=1e-12, batch_size=len(X),
                                max_iter=1, warm_start=True, shuffle=False, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y, sample_weight=sample_weight)
        reference.coefs_ = [w.copy() for w in weights]
        reference.intercepts_ = [b.copy() for b in biases]
        reference.fit(X, y, sample_weight=sample_weight)
    return reference.loss_


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_objective_equals_scikit_learns(classes):
    X, y = _iris()
    y = np.minimum(y, classes - 1)
    weights = np.random.default_rng(1).uniform(0.2, 3.0, size=len(X))
    model = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", solver="sgd",
                          momentum=0.0, learning_rate_init=1e-12, batch_size=len(X),
                          max_iter=1, alpha=0.3, random_state=0).fit(X, y, sample_weight=weights)
    expected = _sklearn_loss_at(SkMLPClassifier, model.coefs_, model.intercepts_, X, y, weights,
                                activation="tanh", alpha=0.3)
    np.testing.assert_allclose(model.loss_curve_[0], expected, rtol=1e-9)


def _set_weights(model, weights, biases):
    """Put scikit-learn-layout weights (inputs, outputs) and biases into an MLP estimator."""
    linears = [layer for layer in model.model_ if isinstance(layer, annie.nn.Linear)]
    for layer, weight, bias in zip(linears, weights, biases):
        layer.weight.data[...] = weight.T
        layer.bias.data[...] = bias


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_objective_and_step_equal_scikit_learns(n_targets):
    """squared_error is scikit-learn's half squared error, so the loss (with the L2 term and
    sample weights) equals scikit-learn's MLPRegressor's, and for one target so does one SGD
    step from the same weights. (For several targets scikit-learn reports the mean over the
    columns but steps along the gradient of their sum; annie minimises the mean it reports.)"""
    X, _ = _iris()
    target = np.column_stack([X[:, 0] * 2 - X[:, 1], X[:, 2]])[:, :n_targets].squeeze()
    weights = np.random.default_rng(2).uniform(0.2, 3.0, size=len(X))
    options = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, batch_size=len(X),
                   max_iter=1, alpha=0.3, shuffle=False)
    model = MLPRegressor(learning_rate_init=1e-12, random_state=0, **options).fit(
        X, target, sample_weight=weights)
    expected = _sklearn_loss_at(SkMLPRegressor, model.coefs_, model.intercepts_, X, target,
                                weights, alpha=0.3)
    np.testing.assert_allclose(model.loss_curve_[0], expected, rtol=1e-9)
    if n_targets > 1:
        return
    start = (model.coefs_, model.intercepts_)
    model.set_params(learning_rate_init=0.1, warm_start=True)
    _set_weights(model, *start)
    model.fit(X, target, sample_weight=weights)  # one plain SGD step of 0.1
    theirs = SkMLPRegressor(learning_rate_init=0.1, warm_start=True, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, target, sample_weight=weights)
        theirs.coefs_, theirs.intercepts_ = [w.copy() for w in start[0]], [b.copy() for b in start[1]]
        theirs.fit(X, target, sample_weight=weights)
    for ours, reference in zip(model.coefs_ + model.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)


# ----- scikit-learn's tools ----------------------------------------------------------------
def test_pipeline_grid_search_and_cross_val_score():
    X, y = data.load_iris()
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0,
                                                             learning_rate_init=0.01))
    search = GridSearchCV(pipeline, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                                     "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert set(search.best_params_) == {"mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    scores = cross_val_score(make_pipeline(StandardScaler(), SequenceRegressor(
        cell="gru", hidden_size=8, max_iter=40, learning_rate_init=0.02, random_state=0)),
        X[:, :3], X[:, 3], cv=KFold(3, shuffle=True, random_state=0))
    assert scores.min() > 0.5


def test_column_transformer_on_a_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = data.load_iris()
    frame = pd.DataFrame(X, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    frame["colour"] = np.where(np.arange(150) % 2 == 0, "red", "blue")
    columns = ColumnTransformer([("numbers", StandardScaler(), list(frame.columns[:4])),
                                 ("colour", OneHotEncoder(), ["colour"])])
    pipeline = make_pipeline(columns, MLPClassifier(hidden_layer_sizes=(16,), max_iter=100,
                                                    learning_rate_init=0.01, random_state=0))
    assert pipeline.fit(frame, y).score(frame, y) > 0.9
    assert list(pipeline.feature_names_in_) == list(frame.columns)
    direct = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(frame.iloc[:, :3], X[:, 3])
    assert list(direct.feature_names_in_) == ["sepal_length", "sepal_width", "petal_length"]
    with pytest.warns(UserWarning, match="feature names"):
        direct.predict(X[:, :3])


# ----- real data beside scikit-learn's MLP -------------------------------------------------
def test_digits_accuracy_beside_scikit_learns_mlp():
    X, y = data.load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    options = dict(hidden_layer_sizes=(100,), max_iter=60, random_state=0)
    ours = make_pipeline(StandardScaler(), MLPClassifier(**options)).fit(X_train, y_train)
    theirs = make_pipeline(StandardScaler(), SkMLPClassifier(**options)).fit(X_train, y_train)
    ours_accuracy, their_accuracy = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    assert ours_accuracy > 0.95 and ours_accuracy >= their_accuracy - 0.015


def test_sunspots_sequence_regressor_beside_scikit_learns_mlp():
    series = data.load_sunspots().astype(np.float64)
    series = (series - series[:250].mean()) / series[:250].std()
    X, y = data.make_windows(series, 12)
    X_train, X_test, y_train, y_test = X[:230], X[230:], y[:230], y[230:]
    rnn = SequenceRegressor(hidden_size=16, learning_rate_init=0.01, max_iter=100,
                            random_state=0).fit(X_train[:, :, None], y_train)
    mlp = SkMLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100,
                         random_state=0).fit(X_train, y_train)
    rnn_r2, mlp_r2 = rnn.score(X_test[:, :, None], y_test), mlp.score(X_test, y_test)
    assert rnn_r2 > 0.8 and rnn_r2 >= mlp_r2 - 0.03


# ----- continuing a fit (warm_start, partial_fit) ------------------------------------------
@pytest.mark.parametrize("estimator, change, continue_with", [
    (MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True),
     dict(hidden_layer_sizes=(5,)), "fit"),
    (MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True),
     dict(activation="tanh"), "fit"),
    (MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True),
     dict(dropout=0.5), "fit"),
    (MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, warm_start=True),
     dict(dtype="float32"), "fit"),
    (MLPRegressor(hidden_layer_sizes=(8,)), dict(hidden_layer_sizes=(8, 8)), "partial_fit"),
    (SequenceRegressor(hidden_size=4, max_iter=2, warm_start=True), dict(cell="gru"), "fit"),
    (SequenceRegressor(hidden_size=4, max_iter=2, warm_start=True), dict(hidden_size=6), "fit"),
    (SequenceRegressor(hidden_size=4), dict(num_layers=2), "partial_fit"),
    (SequenceRegressor(hidden_size=4), dict(bidirectional=True), "partial_fit"),
])
def test_continuing_refuses_a_changed_architecture(estimator, change, continue_with):
    X, target = _iris()
    if isinstance(estimator, SequenceRegressor):
        X, target = X[:, :, None], X[:, 0]
    elif isinstance(estimator, MLPRegressor):
        target = X[:, 0]
    getattr(estimator, continue_with)(X, target)
    before = [p.data.copy() for p in estimator.model_.parameters()]
    estimator.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} changed since the model was built"):
        getattr(estimator, continue_with)(X, target)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, estimator.model_.parameters()))
    estimator.set_params(warm_start=False).fit(X, target)  # a fresh fit builds the new model


def test_continuing_accepts_training_parameter_changes():
    X, y = _iris()
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True,
                          random_state=0).fit(X, y)
    model.set_params(hidden_layer_sizes=8, learning_rate_init=0.01, alpha=0.1, max_iter=3,
                     solver="sgd")  # 8 is the same architecture as (8,)
    model.fit(X.astype(np.float32), y)  # dtype=None keeps the float64 model built first
    assert model.n_iter_ == 5 and model.model_[0].weight.dtype == np.float64


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor, SequenceClassifier,
                                             SequenceRegressor])
def test_docstring_documents_every_parameter_for_the_html_repr(estimator_class):
    """A notebook shows an estimator through scikit-learn's HTML repr, which reads the
    docstring's numpydoc sections: no warnings, and every constructor parameter documented."""
    import inspect

    from sklearn.externals._numpydoc.docscrape import NumpyDocString
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        documented = {name for entry in NumpyDocString(estimator_class.__doc__)["Parameters"]
                      for name in entry.name.split(", ")}
        estimator_class()._repr_html_()
    assert set(inspect.signature(estimator_class).parameters) <= documented


def test_sparse_input_trains_as_its_dense_copy():
    """A ColumnTransformer with one-hot columns returns a SciPy sparse matrix (as a TF-IDF
    vectorizer does); the MLPs take it, and learn exactly what they learn from the dense copy."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 120),
                          "city": rng.choice(list("ABCDEFGH"), 120),
                          "job": rng.choice(list("klmnopqr"), 120)})
    y = np.where(frame["income"] + 20 * (frame["city"] == "A") > 55, "rich", "poor")
    columns = ColumnTransformer([("number", StandardScaler(), ["income"]),
                                 ("words", OneHotEncoder(), ["city", "job"])])
    encoded = columns.fit_transform(frame)
    assert hasattr(encoded, "toarray")  # sparse
    options = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    from_sparse = make_pipeline(columns, MLPClassifier(**options)).fit(frame, y)
    from_dense = MLPClassifier(**options).fit(encoded.toarray(), y)
    np.testing.assert_array_equal(from_sparse.predict_proba(frame),
                                  from_dense.predict_proba(encoded.toarray()))
    regressor = MLPRegressor(**options).fit(encoded.tocsc(), frame["income"])
    np.testing.assert_array_equal(regressor.predict(encoded),
                                  regressor.predict(encoded.toarray()))
