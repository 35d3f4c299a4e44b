"""Sentiment analysis on the bundled movie-review sentences, ready for a recurrent classifier:
a stratified train/test split, a word vocabulary built on the training part only, padded id
matrices with their lengths, and the majority-class baseline."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, check_positive_int
from .batching import train_test_split
from .bundled import MOVIE_REVIEWS_NEUTRAL_BAND, load_movie_reviews
from .vocab import WordVocab

SENTIMENT_CLASS_NAMES = ("negative", "positive")


@dataclass
class SentimentTask:
    """One split of the movie-review sentences: ids int64 (n, T) right-padded with 0, lengths
    int64 (n,), labels int64 (n,) (0 negative, 1 positive), the texts, and the vocabulary
    (built from the training texts only)."""

    vocab: WordVocab
    X_train: np.ndarray
    lengths_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    lengths_test: np.ndarray
    y_test: np.ndarray
    texts_train: list
    texts_test: list

    def majority_baseline(self) -> float:
        """Held-out accuracy of always answering the training set's most frequent class."""
        majority = np.bincount(self.y_train, minlength=2).argmax()
        return float(np.mean(self.y_test == majority))


def load_sentiment_task(test_size: float = 0.2, seed: int = 0, min_count: int = 2,
                        max_length: int | None = 50,
                        neutral_band: float = MOVIE_REVIEWS_NEUTRAL_BAND,
                        max_samples: int | None = None) -> SentimentTask:
    """The movie-review sentences (``load_movie_reviews(neutral_band)``) split into train and
    test (stratified, ``test_size`` of them held out, shuffled by ``seed``), tokenized with
    ``tokenize``; words seen fewer than ``min_count`` times in the training texts become
    ``<unk>``; sentences longer than ``max_length`` words keep their first ``max_length``.
    ``max_samples`` takes a stratified random subset first (for quick runs).
    Raises ConfigError for bad sizes (see ``train_test_split``)."""
    texts, labels = load_movie_reviews(neutral_band)
    indices = np.arange(len(texts))
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, "max_samples", "load_sentiment_task")
        if max_samples < len(texts):
            if max_samples < 10:
                raise ConfigError(f"load_sentiment_task: max_samples must be at least 10, got "
                                  f"{max_samples}")
            indices = train_test_split(indices, labels, test_size=max_samples / len(texts),
                                       stratify=True, seed=seed)[1]
    train, test = train_test_split(indices, labels[indices], test_size=test_size,
                                   stratify=True, seed=seed)[:2]
    texts_train, texts_test = [texts[i] for i in train], [texts[i] for i in test]
    vocab = WordVocab.from_texts(texts_train, min_count=min_count)
    X_train, lengths_train = vocab.encode_batch(texts_train, max_length)
    X_test, lengths_test = vocab.encode_batch(texts_test, max_length)
    return SentimentTask(vocab, X_train, lengths_train, labels[train], X_test, lengths_test,
                         labels[test], texts_train, texts_test)
