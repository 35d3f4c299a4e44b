"""annie.io.save_state / load_state: nested checkpoint state round-trips exactly."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import annie
from annie import nn
from annie.io import flatten, load_state, save_state, unflatten
from annie.io import format as file_format


def assert_identical(a, b, where="value"):
    """Same types, same dict order, bit-identical floats and arrays (NaN equal to NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, (float, np.floating)):
        assert np.array(a).tobytes() == np.array(b).tobytes(), f"{where}: {a!r} vs {b!r}"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for key in a:
            assert type(key) is type(next(k for k in b if k == key)), f"{where}: key {key!r}"
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def checkpoint_like():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    return {
        "model": dict(model.state_dict()),
        "optimizer": {"state": {0: {"step": 7, "exp_avg": rng.standard_normal((4, 3)),
                                    "exp_avg_sq": rng.random((4, 3)).astype(np.float32)},
                                3: {"step": 7, "momentum_buffer": None}},
                      "param_groups": [{"lr": 0.1 + 0.2, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0.0, "amsgrad": False,
                                        "params": [0, 1, 2, 3]}]},
        "scheduler": {"last_epoch": 3, "base_lrs": [0.001], "_step_count": 4},
        "callbacks": [{"best": float("inf"), "wait": 0, "best_weights": None},
                      {"monitor": "val_loss", "mode": "min", "best": -0.0}],
        "rng": annie.backend.get_rng_state(),
        "position": {"epoch": 2, "batch": 17, "samples_seen": 2 ** 70},
        "history": {"loss": [1.0 / 3.0, math.pi, float("nan")], "val_accuracy": [0.5, 0.75]},
        "scalars": [np.float32(1.1), np.int64(-5), np.float64(2.0) ** -1074, np.bool_(True),
                    np.uint8(255), np.float16(np.inf)],
        "dtype": np.dtype(np.float64),
        "odd keys": {(1, "a"): "tuple key", None: 1, 2.5: "float key", True: "bool key",
                     "$t": "a key that looks like a tag"},
        "arrays": [np.zeros((0, 3)), np.array(3.5), np.array([True, False]),
                   np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2],
                   np.arange(4, dtype=">f8"), np.array([np.nan, -np.inf], dtype=np.float16)],
        "text": "ünïcode ✓",
    }


def test_checkpoint_state_round_trips_exactly(tmp_path):
    state = checkpoint_like()
    meta = {"annie_version": annie.__version__, "note": None}
    save_state(tmp_path / "ckpt.state", state, meta)
    loaded_state, loaded_meta = load_state(tmp_path / "ckpt.state")
    expected = dict(state)
    expected["arrays"] = [np.ascontiguousarray(a).astype(a.dtype.newbyteorder("="))
                          for a in state["arrays"]]
    assert_identical(loaded_state, expected)
    assert_identical(loaded_meta, meta)


def test_arrays_dict_plus_meta_form(tmp_path):
    arrays = {"w": np.ones((2, 2), np.float32), "b": np.arange(3)}
    save_state(tmp_path / "s", arrays, {"epoch": 3})
    loaded, meta = load_state(tmp_path / "s")
    assert_identical(loaded, arrays)
    assert meta == {"epoch": 3}


def test_rng_state_restores_the_same_draws(tmp_path):
    annie.manual_seed(5)
    annie.backend.rng().random(3)
    save_state(tmp_path / "rng", {"rng": annie.backend.get_rng_state()})
    expected = annie.backend.rng().random(4)
    annie.manual_seed(99)
    annie.backend.set_rng_state(load_state(tmp_path / "rng")[0]["rng"])
    np.testing.assert_array_equal(annie.backend.rng().random(4), expected)


def test_the_stored_form_is_plain_json():
    skeleton, arrays = flatten({"a": (1, 2), 3: np.ones(2)})
    json.dumps(skeleton, allow_nan=False)
    assert list(arrays) == ["3"]


def test_unstorable_values_are_named():
    with pytest.raises(annie.SerializationError, match=r"state\.opt\.extra: cannot store a set"):
        save_state("unused", {"opt": {"extra": {1, 2}}})
    with pytest.raises(annie.SerializationError, match="cannot store a Tensor"):
        flatten({"x": annie.tensor([1.0])})
    with pytest.raises(annie.SerializationError, match="dtype <U1"):
        flatten({"x": np.array(["a"])})
    with pytest.raises(annie.SerializationError, match=r"k\.b'raw': cannot store a bytes"):
        flatten({"k": {b"raw": 1}})


def test_errors_for_bad_state_files(tmp_path):
    annie.save(nn.Linear(2, 2), tmp_path / "model.annie")
    with pytest.raises(annie.SerializationError, match="annie.load"):
        load_state(tmp_path / "model.annie")
    save_state(tmp_path / "ok", {"a": np.ones(3)})
    data = bytearray((tmp_path / "ok").read_bytes())
    data[-3] ^= 0xFF
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(annie.SerializationError, match="checksum"):
        load_state(tmp_path / "bad")

    def crafted(state_json, arrays):
        metadata = {"format": "annie", "format_version": "1", "kind": "state",
                    "state": state_json, "meta": "null"}
        (tmp_path / "crafted").write_bytes(file_format.seal(arrays, metadata))
        return tmp_path / "crafted"

    with pytest.raises(annie.SerializationError, match="does not hold"):
        load_state(crafted('{"$t": "array", "key": "nothing"}', {}))
    with pytest.raises(annie.SerializationError, match="not referenced"):
        load_state(crafted("1", {"stray": np.ones(2)}))
    with pytest.raises(annie.SerializationError, match="unknown value tag"):
        load_state(crafted('{"$t": "module", "class": "Linear"}', {}))
    with pytest.raises(annie.SerializationError, match="does not fit"):
        load_state(crafted('{"$t": "scalar", "dtype": "uint8", "v": 300}', {}))


# ----- property: any nested value of the supported kinds round-trips ---------------------
floats = st.floats(allow_nan=True, allow_infinity=True)
leaves = (st.none() | st.booleans() | st.integers(min_value=-2 ** 80, max_value=2 ** 80)
          | floats | st.text(max_size=8)
          | st.floats(width=32).map(np.float32) | st.integers(-2 ** 63, 2 ** 63 - 1).map(np.int64)
          | st.lists(floats, max_size=5).map(np.array)
          | st.lists(st.integers(-100, 100), max_size=5).map(lambda v: np.array(v, np.int16)))
keys = st.text(max_size=5) | st.integers(-5, 5) | st.just("$t")
nested = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                      | st.lists(children, max_size=4).map(tuple)
                      | st.dictionaries(keys, children, max_size=4), max_leaves=20)


@settings(max_examples=40, deadline=None)
@given(nested)
def test_flatten_unflatten_is_the_identity(value):
    skeleton, arrays = flatten(value)
    skeleton = json.loads(json.dumps(skeleton, allow_nan=False))  # as stored in the file
    assert_identical(unflatten(skeleton, arrays), value)
