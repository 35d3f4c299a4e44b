"""nn.Normalization: statistics equal to scikit-learn's scalers, kept in buffers (not learned),
saved and loaded with the weights, and a loaded model taking raw rows."""
import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.errors import ConfigError, DataError, ShapeError

X = np.random.default_rng(0).normal([50.0, -3.0, 0.01], [10.0, 0.5, 0.001], size=(200, 3))


@pytest.mark.parametrize("method, scaler_name", [("standard", "StandardScaler"),
                                                 ("minmax", "MinMaxScaler")])
def test_statistics_equal_scikit_learns_scalers(method, scaler_name):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    layer = nn.Normalization(3, dtype=np.float64).adapt(X, method=method)
    expected = getattr(preprocessing, scaler_name)().fit_transform(X)
    np.testing.assert_allclose(layer(annie.tensor(X)).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward_array(X), expected, rtol=1e-12, atol=1e-12)
    inverse = nn.Normalization(3, invert=True, dtype=np.float64).adapt(X, method=method)
    np.testing.assert_allclose(inverse(annie.tensor(expected)).data, X, rtol=1e-12)


def test_buffers_are_not_learned_and_a_constant_feature_is_left_centred():
    data = np.column_stack([X[:, 0], np.full(200, 7.0)])
    layer = nn.Normalization(2).adapt(data)
    assert layer.parameters() == [] and set(layer.state_dict()) == {"mean", "std"}
    assert layer.std[1] == 1.0 and np.all(layer(annie.tensor(data)).data[:, 1] == 0.0)
    model = nn.Sequential(layer, nn.Linear(2, 1))
    before = layer.mean.copy()
    annie.fit(model, "mse", optim.SGD(model.parameters(), lr=0.1), data,
              data[:, :1], epochs=2, verbose=0)
    np.testing.assert_array_equal(layer.mean, before)


def test_saved_with_the_weights_so_a_loaded_model_takes_raw_rows(tmp_path):
    annie.manual_seed(0)
    model = nn.Sequential(nn.Normalization(3).adapt(X), nn.Linear(3, 4), nn.ReLU(),
                          nn.Linear(4, 2))
    annie.save(model, tmp_path / "model.annie")
    loaded = annie.load(tmp_path / "model.annie")
    np.testing.assert_array_equal(loaded[0].mean, model[0].mean)
    np.testing.assert_array_equal(loaded[0].std, model[0].std)
    np.testing.assert_array_equal(annie.predict(loaded, X), annie.predict(model, X))
    assert not np.array_equal(annie.predict(nn.Sequential(*list(model)[1:]), X),
                              annie.predict(model, X))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ConfigError, match="num_features must be a positive integer"):
        nn.Normalization(0)
    with pytest.raises(ConfigError, match="method must be one of"):
        nn.Normalization(3).adapt(X, method="robust")
    with pytest.raises(ShapeError, match=r"expected input \(\.\.\., 3\), got shape \(200, 2\)"):
        nn.Normalization(3).adapt(X[:, :2])
    with pytest.raises(ShapeError, match="expected input"):
        nn.Normalization(3)(annie.tensor(np.zeros((2, 4))))
    with pytest.raises(DataError, match="NaN or inf"):
        nn.Normalization(3).adapt(np.full((2, 3), np.nan))
