"""one_hot, StandardScaler, MinMaxScaler, CharVocab/char_encode and make_windows."""
import numpy as np
import pytest

from annie import data
from annie.errors import ConfigError, DataError, DTypeError, ShapeError


# ---- one_hot -------------------------------------------------------------------------------

def test_one_hot_matches_identity_rows():
    labels = np.array([2, 0, 1, 2])
    encoded = data.one_hot(labels)
    assert encoded.dtype == np.float32 and encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded, np.eye(3)[labels])
    np.testing.assert_array_equal(data.one_hot(labels, num_classes=5), np.eye(5)[labels])
    grid = np.array([[0, 1], [3, 2]])
    np.testing.assert_array_equal(data.one_hot(grid, 4), np.eye(4)[grid])
    np.testing.assert_array_equal(data.one_hot([1.0, 0.0]), [[0, 1], [1, 0]])
    assert data.one_hot(labels, dtype=np.float64).dtype == np.float64


def test_one_hot_errors():
    with pytest.raises(DataError, match="label 3 is out of range for num_classes=3"):
        data.one_hot([0, 3], num_classes=3)
    with pytest.raises(DataError, match=">= 0"):
        data.one_hot([0, -1])
    with pytest.raises(DTypeError, match="whole numbers"):
        data.one_hot([0.5, 1.0])
    with pytest.raises(DTypeError):
        data.one_hot(np.array(["a", "b"]))
    with pytest.raises(ConfigError, match="num_classes"):
        data.one_hot([0, 1], num_classes=0)
    with pytest.raises(DataError, match="empty"):
        data.one_hot(np.array([], dtype=np.int64))


# ---- scalers -------------------------------------------------------------------------------

def _table():
    rng = np.random.default_rng(4)
    X = rng.normal(3.0, 2.0, size=(40, 4))
    X[:, 2] = 7.0  # a constant column
    return X


def test_standard_scaler_closed_form_and_round_trip():
    X = _table()
    scaler = data.StandardScaler()
    Z = scaler.fit_transform(X)
    std = X.std(axis=0)
    expected = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 1, 3]].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 1, 3]].std(axis=0), 1, rtol=1e-12)
    np.testing.assert_array_equal(Z[:, 2], 0)  # zero variance: no NaN
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12)
    Z32 = scaler.transform(X.astype(np.float32))
    assert Z32.dtype == np.float32
    np.testing.assert_allclose(Z32, expected, rtol=1e-5, atol=1e-6)


def test_minmax_scaler_closed_form_range_and_round_trip():
    X = _table()
    scaler = data.MinMaxScaler(feature_range=(-1, 1))
    S = scaler.fit_transform(X)
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    np.testing.assert_allclose(S, -1 + 2 * (X - low) / span, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S[:, [0, 1, 3]].min(axis=0), -1, atol=1e-12)
    np.testing.assert_allclose(S[:, [0, 1, 3]].max(axis=0), 1, atol=1e-12)
    np.testing.assert_array_equal(S[:, 2], -1)  # constant column goes to lo
    np.testing.assert_allclose(scaler.inverse_transform(S), X, rtol=1e-12)


def test_scalers_match_scikit_learn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = _table()
    np.testing.assert_allclose(data.StandardScaler().fit_transform(X),
                               preprocessing.StandardScaler().fit_transform(X), atol=1e-12)
    np.testing.assert_allclose(data.MinMaxScaler((0, 2)).fit_transform(X),
                               preprocessing.MinMaxScaler((0, 2)).fit_transform(X), atol=1e-12)


def test_scaler_statistics_over_sequences_and_1d():
    rng = np.random.default_rng(1)
    sequences = rng.normal(size=(5, 7, 3))
    scaler = data.StandardScaler().fit(sequences)
    flat = sequences.reshape(-1, 3)
    np.testing.assert_allclose(scaler.mean, flat.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.transform(sequences).reshape(-1, 3),
                               data.StandardScaler().fit_transform(flat), rtol=1e-12)
    series = data.load_sunspots()
    scaled = data.MinMaxScaler().fit_transform(series)
    assert scaled.shape == series.shape and scaled.dtype == np.float32
    assert scaled.min() == 0 and scaled.max() == pytest.approx(1.0)


@pytest.mark.parametrize("make", [data.StandardScaler, lambda: data.MinMaxScaler((2, 5))])
def test_scaler_state_dict_round_trip(make, tmp_path):
    X = _table()
    scaler = make().fit(X)
    state = scaler.state_dict()
    assert all(isinstance(value, np.ndarray) for value in state.values())
    np.savez(tmp_path / "s.npz", **state)  # plain arrays save without pickle
    with np.load(tmp_path / "s.npz", allow_pickle=False) as archive:
        restored = make() if make is data.StandardScaler else data.MinMaxScaler()
        restored.load_state_dict({key: archive[key] for key in archive.files})
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))
    with pytest.raises(ConfigError, match="missing keys"):
        make().load_state_dict({})


def test_scaler_errors():
    scaler = data.StandardScaler()
    with pytest.raises(ConfigError, match="call fit"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="not fitted"):
        scaler.state_dict()
    scaler.fit(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"feature shape \(3,\), got X of shape \(2, 5\)"):
        scaler.transform(np.zeros((2, 5)))
    with pytest.raises(DataError, match="NaN"):
        data.StandardScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError, match="empty"):
        data.StandardScaler().fit(np.zeros((0, 3)))
    with pytest.raises(ConfigError, match="lo < hi"):
        data.MinMaxScaler((1, 1))
    with pytest.raises(ShapeError, match="one shape"):
        data.StandardScaler().load_state_dict({"mean": np.zeros(3), "scale": np.ones(2)})


# ---- text ----------------------------------------------------------------------------------

def test_char_encode_round_trip():
    ids, vocab = data.char_encode("hello world")
    assert ids.dtype == np.int64 and ids.shape == (11,)
    assert vocab.chars == sorted(set("hello world")) and len(vocab) == 8
    assert vocab.decode(ids) == "hello world"
    np.testing.assert_array_equal(ids[:5], [vocab.chars.index(c) for c in "hello"])
    rebuilt = data.CharVocab.from_state_dict(vocab.state_dict())
    np.testing.assert_array_equal(rebuilt.encode("world"), vocab.encode("world"))


def test_char_vocab_on_the_bundled_text():
    text = data.load_shakespeare()
    ids, vocab = data.char_encode(text)
    assert len(ids) == len(text) and ids.max() == len(vocab) - 1
    assert vocab.decode(ids[:200]) == text[:200]


def test_char_vocab_errors():
    vocab = data.CharVocab.from_text("abc")
    with pytest.raises(DataError, match="'z' is not in the vocabulary"):
        vocab.encode("az")
    with pytest.raises(DataError, match="id 3 is outside"):
        vocab.decode([0, 3])
    with pytest.raises(DataError, match="empty"):
        data.char_encode("")


# ---- windows -------------------------------------------------------------------------------

def test_make_windows_1d():
    series = np.arange(10, dtype=np.float32)
    X, y = data.make_windows(series, window=3)
    assert X.shape == (7, 3) and y.shape == (7,) and X.dtype == np.float32
    for i in range(7):
        np.testing.assert_array_equal(X[i], series[i:i + 3])
        assert y[i] == series[i + 3]
    X, y = data.make_windows(series, window=4, horizon=2)
    assert X.shape == (5, 4) and y.shape == (5, 2)
    np.testing.assert_array_equal(y[-1], [8, 9])


def test_make_windows_2d_and_real_series():
    series = np.arange(20, dtype=np.float64).reshape(10, 2)
    X, y = data.make_windows(series, window=3)
    assert X.shape == (7, 3, 2) and y.shape == (7, 2)
    np.testing.assert_array_equal(X[2], series[2:5])
    np.testing.assert_array_equal(y[2], series[5])
    X, y = data.make_windows(series, window=3, horizon=2)
    assert y.shape == (6, 2, 2)
    X, y = data.make_windows(data.load_sunspots(), window=12)
    assert X.shape == (297, 12) and y.shape == (297,)


def test_make_windows_errors():
    with pytest.raises(DataError, match="too short for window=5 and horizon=2"):
        data.make_windows(np.arange(6), window=5, horizon=2)
    with pytest.raises(ConfigError, match="window"):
        data.make_windows(np.arange(6), window=0)
    with pytest.raises(ShapeError, match="1-D"):
        data.make_windows(np.zeros((4, 3, 2)), window=2)
    with pytest.raises(DTypeError, match="numeric"):
        data.make_windows(np.array(list("abcdef")), window=2)
