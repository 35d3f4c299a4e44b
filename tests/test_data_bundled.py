"""The bundled datasets: exact files (SHA-256), shapes, dtypes, known counts, as in scikit-learn."""
import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

import annie
from annie import data
from annie.errors import ConfigError

# SHA-256 of the files as shipped (the scikit-learn / statsmodels originals, byte for byte)
FILE_SHA256 = {
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
    "iris.csv": "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449",
    "diabetes_data_raw.csv.gz": "7fc0ded571454b1982210d3bb43f0aca44eae01a0b8654a3b24022bdb6b38009",
    "diabetes_target.csv.gz": "8e53f65eb811df43c206f3534bb3af0e5fed213bc37ed6ba36310157d6023803",
    "sunspots.csv": "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b",
}
# SHA-256 of asyoulik.txt of the Canterbury corpus (the text before our gzip compression)
SHAKESPEARE_TEXT_SHA256 = "eaa3526fe53859f34ecdf255712f9ecf0b2c903451d4755b2edaa2e2599cb0fc"


def _bundled(name: str) -> bytes:
    return resources.files("annie.data").joinpath("datasets", name).read_bytes()


@pytest.mark.parametrize("name", sorted(FILE_SHA256))
def test_bundled_file_checksums(name):
    assert hashlib.sha256(_bundled(name)).hexdigest() == FILE_SHA256[name]


def test_shakespeare_text_checksum_and_content():
    raw = gzip.decompress(_bundled("shakespeare_as_you_like_it.txt.gz"))
    assert hashlib.sha256(raw).hexdigest() == SHAKESPEARE_TEXT_SHA256
    text = data.load_shakespeare()
    assert isinstance(text, str) and len(text) == 125_179
    assert text.lstrip().startswith("AS YOU LIKE IT")
    assert "ROSALIND" in text and text.rstrip().endswith("[Exeunt]")
    assert data.load_text() == text and data.load_text("shakespeare") == text


def test_bundled_data_stays_small():
    folder = resources.files("annie.data").joinpath("datasets")
    total = sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())
    assert total < 3_000_000


def test_every_data_file_is_documented_in_the_readme():
    folder = resources.files("annie.data").joinpath("datasets")
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    for entry in folder.iterdir():
        if entry.name != "README.md":
            assert entry.name in readme, entry.name


def test_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))  # pixel counts are whole numbers
    # class counts of the UCI test set as documented by scikit-learn
    np.testing.assert_array_equal(np.bincount(y),
                                  [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_iris():
    X, y = data.load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert y.shape == (150,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)  # Fisher's first flower
    # class means of petal length, from Fisher (1936): 1.462, 4.260, 5.552 cm
    means = [X[y == k, 2].mean() for k in range(3)]
    np.testing.assert_allclose(means, [1.462, 4.260, 5.552], atol=1e-4)
    assert len(data.IRIS_CLASS_NAMES) == 3 and len(data.IRIS_FEATURE_NAMES) == 4


def test_diabetes():
    X, y = data.load_diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float32
    assert y.shape == (442,) and y.dtype == np.float32
    assert y.min() == 25 and y.max() == 346  # the range documented with the data
    np.testing.assert_allclose(X[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87], rtol=1e-6)
    assert len(data.DIABETES_FEATURE_NAMES) == 10


def test_sunspots():
    series = data.load_sunspots()
    assert series.shape == (309,) and series.dtype == np.float32
    years, same = data.load_sunspots(return_years=True)
    np.testing.assert_array_equal(same, series)
    np.testing.assert_array_equal(years, np.arange(1700, 2009))
    assert years.dtype == np.int64
    assert series[0] == 5 and series[-1] == pytest.approx(2.9)
    assert years[np.argmax(series)] == 1957 and series.max() == pytest.approx(190.2)


def test_list_datasets_names_every_loader():
    listing = data.list_datasets()
    assert set(listing) == {"digits", "iris", "diabetes", "sunspots", "shakespeare",
                            "movie_reviews"}
    for name, description in listing.items():
        assert isinstance(description, str) and description and "\n" not in description
        loader = getattr(data, f"load_{name}")
        # the loader's docstring is the one description: its first sentence is the listing's
        assert " ".join(loader.__doc__.split()).startswith(description.rstrip("."))


def test_load_text_unknown_name():
    with pytest.raises(ConfigError, match="unknown corpus 'poe'"):
        data.load_text("poe")


def test_lazy_access_from_annie():
    assert annie.data.load_iris is data.load_iris


def test_annie_namespace_lists_no_helper_imports():
    """``dir(annie)`` shows annie's API and sub-packages, not the names __init__ imported for
    itself."""
    assert {"annotations", "importlib"}.isdisjoint(dir(annie))
    assert set(annie.__all__) <= set(dir(annie))


def test_same_values_as_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = data.load_digits()
    reference = datasets.load_digits()
    np.testing.assert_array_equal(X, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    X, y = data.load_iris()
    reference = datasets.load_iris()
    np.testing.assert_allclose(X, reference.data, rtol=1e-6)
    np.testing.assert_array_equal(y, reference.target)
    X, y = data.load_diabetes()
    reference = datasets.load_diabetes(scaled=False)
    np.testing.assert_allclose(X, reference.data, rtol=1e-6)
    np.testing.assert_allclose(y, reference.target, rtol=1e-6)


def test_load_dataset_by_name():
    X, y = data.load_dataset("iris")
    np.testing.assert_array_equal(X, data.load_iris()[0])
    assert data.load_dataset("shakespeare") == data.load_shakespeare()
    with pytest.raises(ConfigError, match=r"unknown dataset 'digit' \(did you mean 'digits'\?\)"):
        data.load_dataset("digit")
