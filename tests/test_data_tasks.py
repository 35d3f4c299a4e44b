"""The generated sequence tasks of annie.data.tasks, checked against independent readings."""
import datetime

import numpy as np
import pytest

import annie
from annie.data import CharVocab, encode_padded, make_bracket_depth, make_date_pairs, pad_labels
from annie.errors import ConfigError, DataError

PARSE_FORMATS = ("%d %B %Y", "%B %d, %Y", "%d/%m/%Y", "%b %d %Y", "%Y.%m.%d")


def parse(text):
    for layout in PARSE_FORMATS:
        try:
            return datetime.datetime.strptime(text, layout).date()
        except ValueError:
            pass
    raise AssertionError(f"unparseable date {text!r}")


def test_date_pairs_say_the_same_date():
    sources, targets = make_date_pairs(300, min_year=1990, max_year=1999)
    for source, target in zip(sources, targets):
        assert parse(source).isoformat() == target
        assert 1990 <= int(target[:4]) <= 1999
    assert len({source.split()[0][:3] for source in sources}) > 5  # several formats occur


def test_date_pairs_are_repeatable_under_a_seed():
    annie.manual_seed(5)
    first = make_date_pairs(20)
    annie.manual_seed(5)
    assert make_date_pairs(20) == first
    with pytest.raises(ConfigError, match="min_year"):
        make_date_pairs(3, min_year=2000, max_year=1999)


def test_bracket_tags_are_the_running_depth():
    texts, tags = make_bracket_depth(200, min_length=4, max_length=30, max_depth=3)
    for text, tag in zip(texts, tags):
        depth = np.cumsum([1 if c == "(" else -1 if c == ")" else 0 for c in text])
        np.testing.assert_array_equal(tag, depth)
        assert 4 <= len(text) <= 30 and depth[-1] == 0 and depth.min() >= 0
        assert depth.max() <= 3
    assert max(tag.max() for tag in tags) == 3


def test_encode_padded_and_pad_labels():
    vocab = CharVocab("abc\0")
    ids, lengths = encode_padded(["ab", "cab", "a"], vocab)
    np.testing.assert_array_equal(ids, [[1, 2, 0], [3, 1, 2], [1, 0, 0]])
    np.testing.assert_array_equal(lengths, [2, 3, 1])
    np.testing.assert_array_equal(pad_labels([np.array([1, 2]), np.array([3])]),
                                  [[1, 2], [3, -100]])
    with pytest.raises(ConfigError, match="padding character"):
        encode_padded(["ab"], CharVocab("ab"))
    with pytest.raises(DataError, match="empty"):
        encode_padded(["ab", ""], vocab)
