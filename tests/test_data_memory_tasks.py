"""The generated long-memory tasks: the adding problem (papers' version) and delayed recall."""
import numpy as np
import pytest

import annie
from annie import data
from annie.errors import ConfigError


def test_adding_problem_has_one_marker_in_each_half_and_sums_them():
    annie.manual_seed(0)
    X, y = data.make_adding_problem(500, 100)
    assert X.shape == (500, 100, 2) and y.shape == (500,)
    assert X.dtype == np.float32 and y.dtype == np.float32
    values, markers = X[..., 0].astype(np.float64), X[..., 1]
    assert (markers[:, :50].sum(axis=1) == 1).all() and (markers[:, 50:].sum(axis=1) == 1).all()
    assert ((values >= 0) & (values < 1)).all()
    np.testing.assert_allclose(y, (values * markers).sum(axis=1), rtol=1e-6)
    # predicting 1 gives MSE Var(U1 + U2) = 1/6
    assert np.mean((y - 1.0) ** 2) == pytest.approx(data.ADDING_BASELINE_MSE, rel=0.15)
    annie.manual_seed(0)
    np.testing.assert_array_equal(data.make_adding_problem(500, 100)[0], X)


def test_delayed_recall_targets_are_the_tokens_delay_steps_back():
    annie.manual_seed(1)
    tokens, targets = data.make_delayed_recall(20, 12, delay=5, vocab_size=3)
    assert tokens.shape == targets.shape == (20, 12) and tokens.dtype == np.int64
    assert (targets[:, :5] == -100).all()
    np.testing.assert_array_equal(targets[:, 5:], tokens[:, :7])
    assert set(np.unique(tokens)) <= {0, 1, 2}


@pytest.mark.parametrize("call, message", [
    (lambda: data.make_adding_problem(0), "count"),
    (lambda: data.make_adding_problem(5, 1), "at least 2"),
    (lambda: data.make_delayed_recall(5, 4, 4), "smaller than steps"),
    (lambda: data.make_delayed_recall(5, 4, 1, vocab_size=1), "vocab_size"),
])
def test_bad_sizes(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
