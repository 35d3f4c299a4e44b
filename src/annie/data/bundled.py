"""Small real datasets shipped inside annie (``annie/data/datasets/``); nothing is downloaded.

Every loader returns NumPy arrays: features as float32 and classification labels as int64
(regression targets as float32). Sources and licences are in ``datasets/README.md``.
"""
from __future__ import annotations

import gzip
import io
from importlib import resources

import numpy as np

from ..errors import ConfigError
from ..registry import Registry

IRIS_CLASS_NAMES = ("setosa", "versicolor", "virginica")
IRIS_FEATURE_NAMES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                      "petal width (cm)")
DIABETES_FEATURE_NAMES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")

def _read_bytes(file_name: str) -> bytes:
    """The bytes of a bundled file, decompressed when its name ends in ``.gz``."""
    raw = resources.files("annie.data").joinpath("datasets", file_name).read_bytes()
    return gzip.decompress(raw) if file_name.endswith(".gz") else raw


def _read_table(file_name: str, delimiter: str | None, skip_rows: int = 0) -> np.ndarray:
    """A bundled numeric text table as a float64 array (one row per line)."""
    text = _read_bytes(file_name).decode("ascii")
    return np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip_rows,
                      dtype=np.float64, ndmin=2)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits 0-9 as 8x8 images: 1,797 samples, 64 features (0-16), 10
    classes.

    The UCI optical recognition set, as in scikit-learn.

    Returns X float32 (1797, 64): the 8x8 images row by row, each pixel a count 0..16
    (divide by 16 for [0, 1]); y int64 (1797,): the digit 0..9.
    """
    table = _read_table("digits.csv.gz", delimiter=",")
    return table[:, :64].astype(np.float32), table[:, 64].astype(np.int64)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: 150 samples, 4 measurements in cm, 3 species.

    Returns X float32 (150, 4) in cm (``IRIS_FEATURE_NAMES``), y int64 (150,) the species 0..2
    (``IRIS_CLASS_NAMES``), 50 of each.
    """
    table = _read_table("iris.csv", delimiter=",", skip_rows=1)
    return table[:, :4].astype(np.float32), table[:, 4].astype(np.int64)


def load_diabetes() -> tuple[np.ndarray, np.ndarray]:
    """Diabetes progression one year after baseline: 442 patients, 10 raw features,
    regression target.

    The diabetes set of Efron, Hastie, Johnstone and Tibshirani (2004). Returns X float32
    (442, 10) raw, unscaled features (``DIABETES_FEATURE_NAMES``), y float32 (442,) disease
    progression after one year (25..346).
    """
    features = _read_table("diabetes_data_raw.csv.gz", delimiter=None)
    target = _read_table("diabetes_target.csv.gz", delimiter=None)
    return features.astype(np.float32), target[:, 0].astype(np.float32)


def load_sunspots(return_years: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot number 1700-2008: a 309-step real time series.

    Returns the series as float32 (309,); with ``return_years=True``,
    ``(years int64 (309,), series float32 (309,))``.
    Cut it into supervised pairs with ``make_windows(series, window, horizon)``.
    """
    table = _read_table("sunspots.csv", delimiter=",", skip_rows=1)
    series = table[:, 1].astype(np.float32)
    if return_years:
        return table[:, 0].astype(np.int64), series
    return series


def load_shakespeare() -> str:
    """Shakespeare's 'As You Like It', full text (125,179 characters) for character-level models.

    Returns one str of ASCII characters (public domain).
    """
    return _read_bytes("shakespeare_as_you_like_it.txt.gz").decode("ascii")


MOVIE_REVIEWS_NEUTRAL_BAND = 0.5  # |mean rating| <= this: near-neutral, left out


def load_movie_reviews(neutral_band: float = MOVIE_REVIEWS_NEUTRAL_BAND,
                       return_ratings: bool = False):
    """Movie-review sentences rated by people: 10,043 positive/negative sentences for
    sentiment analysis.

    The 10,605 sentence snippets of Rotten Tomatoes reviews (Pang & Lee 2005) with the mean
    sentiment rating that 20 or more people gave each, from -4 (extremely negative) to +4
    (extremely positive) (Hutto & Gilbert 2014). A sentence is positive (1) if its mean
    rating is above ``neutral_band``, negative (0) if below -``neutral_band``; the
    near-neutral ones in between are left out. With the default 0.5: 4,982 positive and
    5,061 negative sentences (10,043), 562 left out.

    Returns (texts: list of str, labels: int64 (n,)), in the file's order; with
    ``return_ratings=True`` also the mean ratings as float32 (n,).
    Raises ConfigError for a negative ``neutral_band`` or one that leaves no sentence.
    """
    if not isinstance(neutral_band, (int, float)) or isinstance(neutral_band, bool) \
            or not 0 <= neutral_band < 4:
        raise ConfigError(f"load_movie_reviews: neutral_band must be a number in [0, 4), got "
                          f"{neutral_band!r}")
    lines = _read_bytes("movieReviewSnippets_GroundTruth.txt.gz").decode("utf-8").splitlines()
    texts, ratings = [], []
    for line in lines:
        _, rating, text = line.split("\t", 2)
        if abs(float(rating)) > neutral_band:
            texts.append(text.strip())
            ratings.append(float(rating))
    ratings = np.array(ratings, dtype=np.float32)
    labels = (ratings > 0).astype(np.int64)
    return (texts, labels, ratings) if return_ratings else (texts, labels)


_TEXTS = {"shakespeare": load_shakespeare}


def load_text(name: str = "shakespeare") -> str:
    """A bundled text corpus as one string (encode it with ``char_encode`` or ``CharVocab``)."""
    if name not in _TEXTS:
        raise ConfigError(f"load_text: unknown corpus {name!r}; available: {sorted(_TEXTS)}")
    return _TEXTS[name]()


DATASETS: Registry = Registry("dataset", {
    "digits": load_digits, "iris": load_iris, "diabetes": load_diabetes,
    "sunspots": load_sunspots, "shakespeare": load_shakespeare,
    "movie_reviews": load_movie_reviews})


def list_datasets() -> dict[str, str]:
    """The bundled datasets: name -> one-line description (the first sentence of the loader's
    docstring; load one with ``load_<name>()`` or ``load_dataset(name)``)."""
    return DATASETS.descriptions()


def load_dataset(name: str):
    """Load a bundled dataset by name: ``load_dataset("digits")`` is ``load_digits()``.

    Raises ConfigError for an unknown name, naming the closest and every valid name."""
    return DATASETS.lookup(name)()
