"""Character vocabularies for character-level language models: text <-> int64 ids."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..errors import ConfigError, DataError


class CharVocab:
    """A sorted set of characters; ``encode`` maps text to int64 ids, ``decode`` maps ids back."""

    def __init__(self, characters: Iterable[str]):
        chars = sorted(set(characters))
        if not chars:
            raise DataError("CharVocab: got no characters (empty text)")
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise ConfigError(f"CharVocab: every entry must be one character, got {char!r}")
        self.chars: list[str] = chars
        self.char_to_id: dict[str, int] = {char: index for index, char in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The vocabulary of every distinct character in ``text``."""
        if not isinstance(text, str):
            raise ConfigError(f"CharVocab.from_text: text must be a str, got {type(text).__name__}")
        return cls(text)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(size={len(self.chars)})"

    def encode(self, text: str) -> np.ndarray:
        """The id of each character of ``text`` as an int64 array of shape (len(text),)."""
        try:
            return np.fromiter((self.char_to_id[char] for char in text), dtype=np.int64,
                               count=len(text))
        except KeyError as error:
            raise DataError(f"CharVocab.encode: character {error.args[0]!r} is not in the "
                            f"vocabulary of {len(self.chars)} characters") from None

    def decode(self, ids) -> str:
        """The text whose character ids are ``ids`` (any integer array or list)."""
        ids = np.asarray(ids)
        if ids.size and ids.dtype.kind not in "iu":
            raise DataError(f"CharVocab.decode: ids must be integers, got dtype {ids.dtype}")
        flat = ids.reshape(-1)
        bad = flat[(flat < 0) | (flat >= len(self.chars))]
        if bad.size:
            raise DataError(f"CharVocab.decode: id {int(bad[0])} is outside the vocabulary "
                            f"(valid ids 0..{len(self.chars) - 1})")
        return "".join(self.chars[index] for index in flat.tolist())

    def state_dict(self) -> dict:
        """The vocabulary as JSON-friendly data: ``{"chars": "<every character in order>"}``."""
        return {"chars": "".join(self.chars)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "CharVocab":
        """Rebuild a vocabulary saved with ``state_dict()``."""
        if not isinstance(state, dict) or not isinstance(state.get("chars"), str):
            raise ConfigError("CharVocab.from_state_dict: expected a dict with a 'chars' string")
        return cls(state["chars"])


def char_encode(text: str) -> tuple[np.ndarray, CharVocab]:
    """Encode ``text`` character by character: returns (ids int64 (len(text),), its CharVocab)."""
    vocab = CharVocab.from_text(text)
    return vocab.encode(text), vocab
