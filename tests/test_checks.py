"""The one positive-integer check (``annie.errors.check_positive_int``): every count, size and
length argument refuses 0, negatives, floats and bools with the same message, accepts NumPy
integers, and no module writes the check again by hand."""
from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import annie
from annie import data, nn, optim
from annie.errors import (ConfigError, check_non_negative_int, check_positive_int,
                          is_positive_int)

SRC = pathlib.Path(annie.__file__).parent


def _linear_optimizer():
    return optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)


#: (the call with the value to check, the message's "owner: name" part)
COUNTS = [
    (lambda n: nn.Linear(n, 3), "Linear: in_features"),
    (lambda n: nn.Embedding(4, n), "Embedding: embedding_dim"),
    (lambda n: nn.RNN(3, n), "RNN: hidden_size"),
    (lambda n: nn.LSTM(3, 4, num_layers=n), "LSTM: num_layers"),
    (lambda n: nn.GRUCell(n, 4), "GRUCell: input_size"),
    (lambda n: nn.Normalization(n), "Normalization: num_features"),
    (lambda n: nn.ImageCaptioner(n, 5), "ImageCaptioner: input_size"),
    (lambda n: nn.sequence_models.PairedSeq2Seq(n, 6, 5), "PairedSeq2Seq: source_length"),
    (lambda n: optim.lr_scheduler.StepLR(_linear_optimizer(), step_size=n), "StepLR: step_size"),
    (lambda n: data.make_windows(np.arange(20.0), n), "make_windows: window"),
    (lambda n: data.DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size=n),
     "DataLoader: batch_size"),
    (lambda n: data.one_hot(np.array([0, 1]), n), "one_hot: num_classes"),
    (lambda n: data.pad_sequences([[1, 2]], maxlen=n), "pad_sequences: maxlen"),
    (lambda n: annie.predict(nn.Linear(2, 2), np.zeros((3, 2), np.float32), batch_size=n),
     "predict: batch_size"),
    (lambda n: annie.train.compare_mlp_rnn(epochs=n), "compare_mlp_rnn: epochs"),
]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4", None])
@pytest.mark.parametrize("call, where", COUNTS, ids=[where for _, where in COUNTS])
def test_every_count_argument_refuses_what_is_not_a_positive_integer(call, where, bad):
    if bad is None and where in ("pad_sequences: maxlen", "one_hot: num_classes"):
        return  # None: the longest sequence, the largest label + 1
    with pytest.raises(ConfigError, match=rf"^{where} must be a positive integer"
                                          rf"( or None)?, got {bad!r}$"):
        call(bad)


@pytest.mark.parametrize("call, where", COUNTS[:9], ids=[where for _, where in COUNTS[:9]])
def test_numpy_integers_are_integers(call, where):
    call(np.int64(2))
    call(np.uint8(3))


def test_the_check_itself():
    assert check_positive_int(np.int32(7), "n") == 7 and type(check_positive_int(7, "n")) is int
    assert check_positive_int(None, "n", allow_none=True) is None
    with pytest.raises(ConfigError, match=r"^n must be a positive integer, got None$"):
        check_positive_int(None, "n")
    with pytest.raises(ConfigError, match=r"^f: n must be a positive integer or None, got 0$"):
        check_positive_int(0, "n", "f", allow_none=True)
    assert not any(is_positive_int(value) for value in (0, -1, 1.0, True, np.bool_(True), "1"))
    assert check_non_negative_int(np.uint8(0), "n") == 0
    with pytest.raises(ConfigError, match=r"^n must be a non-negative integer or None, got -1$"):
        check_non_negative_int(-1, "n", allow_none=True)


#: the bounds of a positive integer (x <= 0 or x < 1 refused, x > 0 or x >= 1 accepted) and of
#: a non-negative one (x < 0 refused, x >= 0 accepted)
INTEGER_BOUNDS = {(ast.LtE, 0), (ast.Lt, 1), (ast.Gt, 0), (ast.GtE, 1), (ast.Lt, 0),
                  (ast.GtE, 0)}


#: (the call with the value to check, the message's "owner: name" part)
NON_NEGATIVE = [
    (lambda n: annie.manual_seed(n), "manual_seed: seed"),
    (lambda n: annie.train.EarlyStopping(patience=n), "EarlyStopping: patience"),
    (lambda n: annie.diagnostics.draw_graph(annie.tensor([1.0]), max_values=n),
     "draw_graph: max_values"),
    (lambda n: data.train_test_split(np.zeros((4, 1)), np.zeros(4), seed=n), "seed"),
]


@pytest.mark.parametrize("bad", [-1, 0.5, True, "3"])
@pytest.mark.parametrize("call, where", NON_NEGATIVE, ids=[where for _, where in NON_NEGATIVE])
def test_every_non_negative_integer_argument_refuses_the_rest(call, where, bad):
    with pytest.raises(ConfigError, match=rf"^{where} must be a non-negative integer"
                                          rf"( or None)?, got {bad!r}$"):
        call(bad)
    call(np.int64(0))


def _hand_written_positive_int_checks(tree: ast.AST, text: str) -> list[str]:
    """Conditions that test an integer type and compare with 0 or 1 in one expression."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.BoolOp):
            continue
        segment = ast.get_source_segment(text, node) or ""
        types = any(name in segment for name in ("np.integer", "numbers.Integral", ", int)")) \
            and "float" not in segment and "Real" not in segment
        bounds = [compare for compare in ast.walk(node) if isinstance(compare, ast.Compare)
                  and len(compare.ops) == 1 and isinstance(compare.comparators[0], ast.Constant)
                  and (type(compare.ops[0]), compare.comparators[0].value) in INTEGER_BOUNDS]
        if types and bounds:
            found.append(f"line {node.lineno}: {segment[:80]}")
    return found


def test_no_module_writes_the_integer_checks_again():
    """isinstance(x, int...) and x <= 0 (or < 1, > 0, >= 1, < 0, >= 0) lives in annie.errors
    alone; other modules call check_positive_int, is_positive_int or check_non_negative_int."""
    copies = {}
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).as_posix() in ("errors.py", "tune/spec.py"):
            continue  # tune/spec.py: [tune] settings use the configuration's own phrases
            # ("must be >= 0"), as annie.app.schema's checks of [train] keys do
        text = path.read_text(encoding="utf-8")
        found = _hand_written_positive_int_checks(ast.parse(text), text)
        if found:
            copies[str(path.relative_to(SRC))] = found
    assert not copies, copies
