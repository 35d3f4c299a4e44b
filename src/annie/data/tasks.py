"""Small generated sequence tasks for the RNN examples, drawn with annie's random generator.

- ``make_date_pairs``: the same date written in several human formats -> ISO ``YYYY-MM-DD``
  (a toy translation for encoder-decoder models);
- ``make_bracket_depth``: strings of brackets and letters, tagged at every character with the
  nesting depth so far (an aligned tagging task that needs memory of the whole prefix);
- ``encode_padded``: texts -> right-padded id matrix and lengths for a recurrent layer.
"""
from __future__ import annotations

import calendar
from typing import Sequence

import numpy as np

from ..backend import rng
from ..errors import ConfigError, DataError, check_positive_int
from .text import CharVocab

PAD_CHAR = "\0"  # sorts before every printable character, so its id is 0 in a CharVocab
DATE_BOS_CHAR = "^"  # the decoder's start symbol in the target vocabulary of dates
DATE_FORMATS = ("{day} {month_name} {year}", "{month_name} {day}, {year}",
                "{day:02d}/{month:02d}/{year}", "{month_abbr} {day} {year}",
                "{year}.{month:02d}.{day:02d}")
BRACKET_LETTERS = "abcxyz"


def make_date_pairs(count: int, min_year: int = 1950,
                    max_year: int = 2049) -> tuple[list[str], list[str]]:
    """``count`` random dates as (source texts in one of ``DATE_FORMATS``, targets
    ``YYYY-MM-DD``), e.g. ("March 7, 1998", "1998-03-07"); every target is 10 characters."""
    count = check_positive_int(count, "count", "make_date_pairs")
    if not 1 <= min_year <= max_year <= 9999:
        raise ConfigError(f"make_date_pairs: need 1 <= min_year <= max_year <= 9999, got "
                          f"{min_year} and {max_year}")
    generator = rng()
    sources, targets = [], []
    for _ in range(count):
        year = int(generator.integers(min_year, max_year + 1))
        month = int(generator.integers(1, 13))
        day = int(generator.integers(1, calendar.monthrange(year, month)[1] + 1))
        layout = DATE_FORMATS[int(generator.integers(len(DATE_FORMATS)))]
        sources.append(layout.format(day=day, month=month, year=year,
                                     month_name=calendar.month_name[month],
                                     month_abbr=calendar.month_abbr[month]))
        targets.append(f"{year:04d}-{month:02d}-{day:02d}")
    return sources, targets


def make_bracket_depth(count: int, min_length: int = 6, max_length: int = 24,
                       max_depth: int = 4) -> tuple[list[str], list[np.ndarray]]:
    """``count`` balanced strings of '(' ')' and letters, each with int64 tags: tag t is the
    nesting depth after character t (0 .. max_depth). Lengths are drawn from
    [min_length, max_length]."""
    count = check_positive_int(count, "count", "make_bracket_depth")
    max_depth = check_positive_int(max_depth, "max_depth", "make_bracket_depth")
    if not 2 <= min_length <= max_length:
        raise ConfigError(f"make_bracket_depth: need 2 <= min_length <= max_length, got "
                          f"{min_length} and {max_length}")
    generator = rng()
    texts, tags = [], []
    for _ in range(count):
        length = int(generator.integers(min_length, max_length + 1))
        depth, chars, depths = 0, [], []
        for position in range(length):
            remaining = length - position
            if depth >= remaining:  # only closing brackets still fit
                choice = ")"
            else:
                options = ["letter"] + (["("] if depth < max_depth and depth + 1 < remaining
                                        else []) + ([")"] if depth > 0 else [])
                choice = options[int(generator.integers(len(options)))]
            if choice == "(":
                depth += 1
            elif choice == ")":
                depth -= 1
            else:
                choice = BRACKET_LETTERS[int(generator.integers(len(BRACKET_LETTERS)))]
            chars.append(choice)
            depths.append(depth)
        texts.append("".join(chars))
        tags.append(np.array(depths, dtype=np.int64))
    return texts, tags


def encode_padded(texts: Sequence[str], vocab: CharVocab,
                  pad_char: str = PAD_CHAR) -> tuple[np.ndarray, np.ndarray]:
    """Encode each text with ``vocab`` and right-pad with the id of ``pad_char`` to the
    longest: returns (ids int64 (n, longest), lengths int64 (n,))."""
    if len(texts) == 0:
        raise DataError("encode_padded: got no texts")
    if pad_char not in vocab.char_to_id:
        raise ConfigError(f"encode_padded: the vocabulary has no padding character "
                          f"{pad_char!r}; build it with CharVocab(chars + pad_char)")
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    if lengths.min() == 0:
        raise DataError(f"encode_padded: text {int(np.argmin(lengths))} is empty")
    ids = np.full((len(texts), int(lengths.max())), vocab.char_to_id[pad_char], dtype=np.int64)
    for row, text in enumerate(texts):
        ids[row, :len(text)] = vocab.encode(text)
    return ids, lengths


def pad_labels(labels: Sequence[np.ndarray], fill: int = -100) -> np.ndarray:
    """Stack per-step integer label arrays of different lengths into (n, longest), padded with
    ``fill`` (cross-entropy's default ignore_index)."""
    if len(labels) == 0:
        raise DataError("pad_labels: got no label arrays")
    longest = max(len(row) for row in labels)
    padded = np.full((len(labels), longest), fill, dtype=np.int64)
    for index, row in enumerate(labels):
        padded[index, :len(row)] = row
    return padded
