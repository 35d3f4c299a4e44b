"""Text from an image, on the bundled digits: each 8x8 image with its digit's English name as
the text to write ("seven"), for one-to-many models such as ``nn.ImageCaptioner``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .batching import train_test_split
from .bundled import load_digits
from .text import CharVocab

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CAPTION_EOS_CHAR, CAPTION_BOS_CHAR = ".", "^"  # end of a name; the decoder's start symbol


@dataclass
class CaptionTask:
    """Images X (n, 64) floats in [0, 1] and their names as character ids y (n, 6) int64:
    the name, then the end mark, then -100 (padding, ignored by the loss); the digits
    ``labels``; the character vocabulary with its ``bos_index`` and ``eos_index``."""

    X_train: np.ndarray
    y_train: np.ndarray
    labels_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray
    vocab: CharVocab

    @property
    def bos_index(self) -> int:
        """Id of the decoder's start symbol."""
        return self.vocab.char_to_id[CAPTION_BOS_CHAR]

    @property
    def eos_index(self) -> int:
        """Id of the end mark."""
        return self.vocab.char_to_id[CAPTION_EOS_CHAR]

    @property
    def max_len(self) -> int:
        """The longest name plus its end mark (6)."""
        return self.y_train.shape[1]

    def texts(self, ids: np.ndarray) -> list[str]:
        """Decoded ids (n, steps) as strings, each cut at its first end mark."""
        return caption_texts(ids, self.vocab)

    def majority_name(self) -> str:
        """The name of the most frequent training digit (the baseline writes it every time)."""
        return DIGIT_NAMES[int(np.bincount(self.labels_train, minlength=10).argmax())]


def caption_texts(ids: np.ndarray, vocab: CharVocab) -> list[str]:
    """Rows of character ids (a model's output or targets padded with -100) as strings, each
    cut at its first end mark."""
    return [vocab.decode(np.maximum(row, 0)).split(CAPTION_EOS_CHAR)[0]
            for row in np.asarray(ids)]


def caption_targets(labels: np.ndarray, vocab: CharVocab) -> np.ndarray:
    """Each digit's name as character ids followed by the end mark, padded with -100:
    int64 (len(labels), 6). Raises DataError for a label that is not an integer 0..9."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"caption_targets: labels must be a 1-D integer array, got shape "
                        f"{labels.shape} dtype {labels.dtype}")
    outside = labels[(labels < 0) | (labels > 9)]
    if outside.size:
        raise DataError(f"caption_targets: labels must be digits 0..9, got {outside[0]}")
    width = max(len(name) for name in DIGIT_NAMES) + 1
    targets = np.full((len(labels), width), -100, dtype=np.int64)
    for row, label in enumerate(labels):
        ids = vocab.encode(DIGIT_NAMES[int(label)] + CAPTION_EOS_CHAR)
        targets[row, :len(ids)] = ids
    return targets


def load_digit_captions(test_size: float = 0.25, seed: int = 0) -> CaptionTask:
    """The bundled digits (pixels / 16) split into train and test (stratified, shuffled by
    ``seed``), each image's text its digit's name (``DIGIT_NAMES``) as character ids."""
    X, labels = load_digits()
    X = X / np.float32(16.0)
    X_train, X_test, labels_train, labels_test = train_test_split(
        X, labels, test_size=test_size, stratify=True, seed=seed)
    vocab = CharVocab("".join(DIGIT_NAMES) + CAPTION_EOS_CHAR + CAPTION_BOS_CHAR)
    return CaptionTask(X_train, caption_targets(labels_train, vocab), labels_train, X_test,
                       caption_targets(labels_test, vocab), labels_test, vocab)
