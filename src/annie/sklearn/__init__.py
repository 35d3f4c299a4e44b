"""scikit-learn estimators that train annie models: ``MLPClassifier``, ``MLPRegressor``,
``SequenceClassifier`` and ``SequenceRegressor`` (for (n_samples, T, features) sequences).

They follow scikit-learn's estimator contract (``fit``/``partial_fit``/``predict``/
``predict_proba``/``score``, ``get_params``/``set_params``, ``clone``, pickling for joblib) and
pass ``sklearn.utils.estimator_checks.check_estimator``; they work in ``Pipeline``,
``GridSearchCV``, ``cross_val_score`` and ``ColumnTransformer``. Needs scikit-learn
(``pip install "annie[sklearn]"``). The trained annie model is ``estimator.model_``.
"""
try:
    import sklearn  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("annie.sklearn needs scikit-learn: pip install 'annie[sklearn]'") from error

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
from .sequence import SequenceClassifier, SequenceRegressor

__all__ += ["SequenceClassifier", "SequenceRegressor"]
