"""The parameter and attribute documentation the four estimators share (appended to each one's
docstring in numpydoc's sections, which scikit-learn's HTML repr reads), so each name is
described once. The training parameters take scikit-learn's MLP names and defaults."""

MLP_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Neurons of each hidden layer.
    activation : str, default="relu"
        Hidden activation: scikit-learn's "identity", "logistic", "tanh", "relu" or any annie
        activation ("leaky_relu", "elu", "gelu", "silu", ...).
    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).
"""

SEQUENCE_PARAMETERS = """
    Parameters
    ----------
    cell : {"lstm", "gru", "rnn"}, default="lstm"
        The recurrent layer ("rnn": tanh Elman RNN).
    hidden_size : int, default=64
        Features of the hidden state.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Read each sequence in both directions.
    dropout : float, default=0.0
        Dropout between stacked recurrent layers (training only).
    clip_grad_norm : float or None, default=None
        Rescale the gradients so their global L2 norm is at most this (exploding gradients).
"""

TRAINING_PARAMETERS = """
    solver : str, default="adam"
        The annie optimizer: "adam", "sgd", "adamw", "rmsprop", "adagrad", "adadelta" or
        "nadam" (no "lbfgs": annie trains with mini-batches).
    alpha : float, default=1e-4
        L2 penalty: the loss gains alpha / 2 * sum ||W||^2 / sum_i w_i over the weight
        matrices (not the biases), w_i the sample weights of the batch.
    batch_size : int or "auto", default="auto"
        Samples per mini-batch; "auto" is min(200, n_samples). Larger than the data: clipped,
        with a warning.
    learning_rate_init : float, default=1e-3
        The optimizer's learning rate.
    max_iter : int, default=200
        The most epochs (passes over the training data) one ``fit`` runs.
    shuffle : bool, default=True
        Shuffle the samples before each epoch.
    random_state : int, RandomState or None, default=None
        Seeds annie's generator for the initial weights, shuffling, dropout and the early
        stopping split: the same int gives the same model. The caller's annie generator is
        left as it was.
    tol : float, default=1e-4
        Improvement needed by the stopping rule (training loss, or validation score with
        ``early_stopping``).
    verbose : bool, default=False
        One line per epoch (annie's progress output).
    warm_start : bool, default=False
        ``fit`` continues from the current weights instead of starting again. Continuing
        (also ``partial_fit``) needs the model's own parameters (sizes, activation, cell,
        dropout, dtype) unchanged since it was built: a ValueError names the one that changed.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov momentum for "sgd" (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for classifiers)
        and stop when its score (accuracy or R^2) has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs; the best epoch's weights are kept.
    validation_fraction : float, default=0.1
        The held-out fraction for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and denominator constant (also for "adamw" and "nadam").
    n_iter_no_change : int, default=10
        Epochs without improvement (by ``tol``) before training stops.
    dtype : {None, "float32", "float64"}, default=None
        Arithmetic of the model: None follows X (float32 X trains in float32, anything else in
        float64, as scikit-learn's MLP does); "float32" is faster on float64 data.

    Attributes
    ----------
    model_ : annie.nn.Module
        The trained annie model (``annie.save``, ``annie.onnx.export`` take it); it outputs
        logits (classifiers) or values (regressors).
    n_features_in_ : int
        Columns of X seen by ``fit``.
    feature_names_in_ : ndarray of str
        The column names when X was a DataFrame with string column names.
    n_outputs_ : int
        Outputs of the model.
    n_iter_ : int
        Epochs trained (summed over warm-started fits and ``partial_fit`` calls).
    t_ : int
        Training samples seen.
    loss_, loss_curve_ : float, list of float
        The last epoch's training loss and every epoch's (the weighted loss plus the L2 term).
    best_loss_ : float
        The lowest training loss so far.
    validation_scores_, best_validation_score_ : list of float, float
        With ``early_stopping``: the validation score of each epoch and the best one
        (None otherwise).
"""

CLASSIFIER_PARAMETERS = """
    loss : {"log_loss", "hinge"}, default="log_loss"
        "log_loss": cross-entropy (softmax for K > 2 classes, one sigmoid output for two
        classes or per label for multilabel targets). "hinge": one-vs-rest hinge on the
        outputs; then ``decision_function`` instead of ``predict_proba``.
"""

CLASSIFIER_ATTRIBUTES = """
    classes_ : ndarray
        The class labels, sorted (0..k-1 for multilabel indicator targets).
"""

REGRESSOR_PARAMETERS = """
    loss : {"squared_error", "absolute_error", "huber", "log_cosh"}, default="squared_error"
        The regression loss, averaged over the target columns: "squared_error" is half the
        squared error, 1/2 (y - f(x))^2, the objective of scikit-learn's MLPRegressor (so
        ``alpha`` and ``learning_rate_init`` act as there; with several target columns
        scikit-learn steps along the gradient of their sum while it reports their mean, annie
        minimises the mean); then annie's mae, huber (delta 1) and log_cosh.
"""


def append_doc(cls, *parts: str) -> None:
    """Add the shared sections to ``cls``'s docstring (nothing when docstrings are stripped)."""
    if cls.__doc__ is not None:
        cls.__doc__ += "".join(parts)
