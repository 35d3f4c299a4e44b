"""Word-level text for recurrent models: ``tokenize``, ``WordVocab`` (words <-> int64 ids,
padded batches with their lengths) and bag-of-words counts for an MLP on the same ids."""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from ..backend import get_default_dtype
from ..errors import ConfigError, DataError, check_positive_int

PAD_TOKEN, UNK_TOKEN = "<pad>", "<unk>"
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words of ``text``: runs of letters and digits (any script), an apostrophe
    kept inside a word ("it's", "didn't"), and "!" and "?" as tokens of their own; every other
    punctuation mark is dropped. ``tokenize("It's GREAT, isn't it?!")`` is
    ``["it's", "great", "isn't", "it", "?", "!"]``."""
    if not isinstance(text, str):
        raise DataError(f"tokenize: expected a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


class WordVocab:
    """Words <-> ids: 0 is padding (``<pad>``), 1 an unknown word (``<unk>``), then the known
    words, most frequent first (ties in first-seen order)."""

    pad_id, unk_id = 0, 1

    def __init__(self, words: Iterable[str]):
        self.words: list[str] = [PAD_TOKEN, UNK_TOKEN]
        for word in words:
            if not isinstance(word, str) or not word:
                raise ConfigError(f"WordVocab: every word must be a non-empty str, got {word!r}")
            if word in (PAD_TOKEN, UNK_TOKEN):
                continue
            self.words.append(word)
        self.word_to_id: dict[str, int] = {}
        for index, word in enumerate(self.words):
            if word in self.word_to_id:
                raise ConfigError(f"WordVocab: the word {word!r} is listed twice")
            self.word_to_id[word] = index

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1,
                   max_size: int | None = None) -> "WordVocab":
        """The words of ``texts`` (through ``tokenize``) seen at least ``min_count`` times,
        the ``max_size`` most frequent at most (padding and unknown included)."""
        check_positive_int(min_count, "min_count", "WordVocab.from_texts")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                     or max_size < 3):
            raise ConfigError(f"WordVocab.from_texts: max_size must be an integer >= 3 or None, "
                              f"got {max_size!r}")
        counts = Counter(word for text in texts for word in tokenize(text))
        words = [word for word, count in counts.most_common() if count >= min_count]
        if max_size is not None:
            words = words[:max_size - 2]
        if not words:
            raise DataError("WordVocab.from_texts: no word is frequent enough (empty texts, or "
                            f"min_count={min_count} too high)")
        return cls(words)

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"WordVocab(size={len(self.words)})"

    def encode(self, text: str) -> np.ndarray:
        """The ids of the words of ``text``, int64 (words,); unknown words get ``unk_id``."""
        return np.array([self.word_to_id.get(word, self.unk_id) for word in tokenize(text)],
                        dtype=np.int64)

    def encode_batch(self, texts: Sequence[str],
                     max_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Texts as one right-padded id matrix int64 (n, T) (padding id 0) and their lengths
        int64 (n,), what ``model(ids, lengths=lengths)`` takes. T is the longest text, or
        ``max_length``: longer texts keep their first ``max_length`` words. A text without any
        word becomes one ``<unk>`` (a recurrent layer needs at least one step). ``texts`` is a
        list of texts: a single str is refused (it would be read as one text per character)."""
        if isinstance(texts, str):
            raise DataError(f"WordVocab.encode_batch: expected a list of texts, got one str "
                            f"{texts[:40]!r}; pass [text]")
        check_positive_int(max_length, "max_length", "WordVocab.encode_batch", allow_none=True)
        if len(texts) == 0:
            raise DataError("WordVocab.encode_batch: no texts given")
        encoded = [self.encode(text)[:max_length] for text in texts]
        encoded = [ids if len(ids) else np.array([self.unk_id]) for ids in encoded]
        lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)
        padded = np.zeros((len(encoded), int(lengths.max())), dtype=np.int64)
        for row, ids in enumerate(encoded):
            padded[row, :len(ids)] = ids
        return padded, lengths

    def decode(self, ids) -> list[str]:
        """The words of ``ids`` (padding left out)."""
        ids = np.asarray(ids).reshape(-1)
        bad = ids[(ids < 0) | (ids >= len(self.words))]
        if bad.size:
            raise DataError(f"WordVocab.decode: id {int(bad[0])} is outside the vocabulary "
                            f"(valid ids 0..{len(self.words) - 1})")
        return [self.words[index] for index in ids.tolist() if index != self.pad_id]

    def bag_of_words(self, ids: np.ndarray, binary: bool = True) -> np.ndarray:
        """Word counts per row of a padded id matrix (n, T) as (n, len(vocab)) floats in the
        default dtype, padding not counted; ``binary=True`` records presence (0/1) only."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise DataError(f"WordVocab.bag_of_words: expected a (n, T) integer id matrix, got "
                            f"shape {ids.shape} dtype {ids.dtype}")
        outside = ids[(ids < 0) | (ids >= len(self.words))]
        if outside.size:
            raise DataError(f"WordVocab.bag_of_words: id {int(outside[0])} is outside the "
                            f"vocabulary (valid ids 0..{len(self.words) - 1})")
        counts = np.zeros((len(ids), len(self.words)), dtype=get_default_dtype())
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        np.add.at(counts, (rows, ids.reshape(-1)), 1)
        counts[:, self.pad_id] = 0
        return np.minimum(counts, 1) if binary else counts

    def state_dict(self) -> dict:
        """The vocabulary as JSON-friendly data: ``{"words": [every word after <pad>, <unk>]}``."""
        return {"words": self.words[2:]}

    @classmethod
    def from_state_dict(cls, state: dict) -> "WordVocab":
        """Rebuild a vocabulary saved with ``state_dict()``."""
        if not isinstance(state, dict) or not isinstance(state.get("words"), list):
            raise ConfigError("WordVocab.from_state_dict: expected a dict with a 'words' list")
        return cls(state["words"])
