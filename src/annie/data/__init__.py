"""Data for annie: bundled real datasets, loaders for user files, batching and preprocessing.

Bundled sets (never downloaded): ``load_digits``, ``load_iris``, ``load_diabetes``,
``load_sunspots``, ``load_shakespeare``, ``load_movie_reviews``; ``list_datasets()`` names them and
``load_dataset(name)`` loads one by name.
"""
from .batching import DataLoader, batches, train_test_split
from .bundled import (DIABETES_FEATURE_NAMES, IRIS_CLASS_NAMES, IRIS_FEATURE_NAMES,
                      list_datasets, load_dataset, load_diabetes, load_digits, load_iris,
                      load_movie_reviews, load_shakespeare, load_sunspots, load_text)
from .files import CSVTable, load_csv, load_npz
from .idx import load_idx, load_mnist_idx
from .preprocessing import MinMaxScaler, StandardScaler, one_hot
from .text import CharVocab, char_encode
from .windows import make_windows

try:  # padding.py (pad_sequences) is written alongside; import it once it exists
    from .padding import pad_sequences
except ModuleNotFoundError as _error:
    if _error.name != f"{__name__}.padding":
        raise

__all__ = ["DataLoader", "batches", "train_test_split", "list_datasets", "load_dataset",
           "load_digits", "load_iris", "load_diabetes", "load_sunspots", "load_shakespeare",
           "load_text",
           "IRIS_CLASS_NAMES", "IRIS_FEATURE_NAMES", "DIABETES_FEATURE_NAMES", "CSVTable",
           "load_csv",
           "load_npz", "load_idx", "load_mnist_idx", "one_hot", "StandardScaler", "MinMaxScaler",
           "CharVocab", "char_encode", "make_windows"]
if "pad_sequences" in globals():
    __all__.append("pad_sequences")
from .tasks import encode_padded, make_bracket_depth, make_date_pairs, pad_labels

__all__ += ["make_date_pairs", "make_bracket_depth", "encode_padded", "pad_labels"]
from .memory_tasks import ADDING_BASELINE_MSE, make_adding_problem, make_delayed_recall

__all__ += ["make_adding_problem", "make_delayed_recall", "ADDING_BASELINE_MSE"]
from .sentiment import SENTIMENT_CLASS_NAMES, SentimentTask, load_sentiment_task
from .vocab import WordVocab, tokenize

__all__ += ["load_movie_reviews", "load_sentiment_task", "SentimentTask",
            "SENTIMENT_CLASS_NAMES", "WordVocab", "tokenize"]
from .captions import (DIGIT_NAMES, CaptionTask, caption_targets, caption_texts,
                       load_digit_captions)

__all__ += ["load_digit_captions", "CaptionTask", "caption_targets", "caption_texts",
            "DIGIT_NAMES"]
