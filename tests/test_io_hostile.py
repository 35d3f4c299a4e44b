"""A model file cannot make annie build a layer its weights do not fill (the architecture is
checked against the stored tensors before anything is built, and the rest is built within the
file's own size), and a write that fails part-way (file-size limit) leaves the previous file
whole and says so."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import SerializationError
from annie.io import format as file_format


def _hostile(path, architecture, tensors):
    metadata = {"format": "annie", "format_version": "1", "kind": "model", "training": "true",
                "architecture": json.dumps(architecture)}
    path.write_bytes(file_format.seal(tensors, metadata))
    return path


def _linear_spec(in_features, out_features):
    return {"$t": "module", "class": "Linear", "args": [in_features, out_features], "kwargs": {}}


SMALL_LINEAR = {"weight": np.zeros((4, 3), np.float32), "bias": np.zeros(4, np.float32)}


def test_a_million_by_million_linear_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    built = []
    original = nn.Linear.__init__

    def spy(self, *args, **kwargs):
        built.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(nn.Linear, "__init__", spy)
    path = _hostile(tmp_path / "huge.annie", _linear_spec(10 ** 6, 10 ** 6), SMALL_LINEAR)
    with pytest.raises(SerializationError) as info:
        annie.load(path)
    message = str(info.value)
    assert str(path) in message and "(1000000, 1000000)" in message and "(4, 3)" in message
    assert built == []


def test_a_huge_layer_inside_a_sequential_is_refused_before_building(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(nn.LayerNorm, "__init__", lambda self, *a, **k: built.append(a))
    architecture = {"$t": "module", "class": "Sequential", "kwargs": {}, "args": [
        {"$t": "module", "class": "LayerNorm", "args": [[10 ** 5, 10 ** 5]], "kwargs": {}},
        _linear_spec(3, 4)]}
    tensors = {"0.weight": np.ones(2, np.float32), "0.bias": np.zeros(2, np.float32),
               **{f"1.{name}": array for name, array in SMALL_LINEAR.items()}}
    with pytest.raises(SerializationError, match=r"'0.weight' has shape \(2,\)"):
        annie.load(_hostile(tmp_path / "ln.annie", architecture, tensors))
    embedding = {"$t": "module", "class": "Embedding", "args": [10 ** 9, 10 ** 3], "kwargs": {}}
    with pytest.raises(SerializationError, match="missing"):
        annie.load(_hostile(tmp_path / "e.annie", embedding, {"other": np.zeros(1, np.float32)}))
    assert built == []


def test_undeclared_layers_are_built_within_the_files_size(tmp_path):
    """A GRU declares no shapes up front: building it may not make more values than the file
    holds (doubled, plus a margin), so a hidden size of 4,000 from 12 stored values is refused
    when its first large weight is made, before any is filled."""
    architecture = {"$t": "module", "class": "GRU", "args": [3, 4000], "kwargs": {}}
    path = _hostile(tmp_path / "gru.annie", architecture, {"weight_ih_l0": np.zeros((4, 3),
                                                                                     np.float32)})
    with pytest.raises(SerializationError, match="past the number of values the file holds"):
        annie.load(path)


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(3, 5), nn.LayerNorm(5), nn.Linear(5, 2, bias=False)),
    lambda: nn.ModuleList([nn.Embedding(7, 3, padding_idx=0), nn.LayerNorm((2, 3))]),
    lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True),
    lambda: nn.SequenceClassifier(vocab_size=20, num_classes=3, hidden_size=8),
])
def test_honest_files_still_load(tmp_path, make):
    model = make()
    annie.save(model, tmp_path / "m.annie")
    loaded = annie.load(tmp_path / "m.annie")
    for (name, array), (other, loaded_array) in zip(model.state_dict().items(),
                                                    loaded.state_dict().items()):
        assert name == other
        np.testing.assert_array_equal(array, loaded_array)


@pytest.mark.parametrize("cls, args, kwargs", [
    (nn.Linear, (3, 5), {}), (nn.Linear, (7, 2), {"bias": False}),
    (nn.Embedding, (9, 4), {"padding_idx": 1}), (nn.LayerNorm, ((2, 3),), {}),
    (nn.LayerNorm, (6,), {"elementwise_affine": False}),
])
def test_declared_parameter_shapes_are_the_built_ones(cls, args, kwargs):
    declared = cls.parameter_shapes(*args, **kwargs)
    built = {name: param.shape for name, param in cls(*args, **kwargs).named_parameters()}
    assert declared == built


def test_a_subclass_with_its_own_constructor_declares_nothing_it_did_not_say():
    class Square(nn.Linear):
        def __init__(self, size):
            super().__init__(size, size)

    assert Square.parameter_shapes is None and nn.Linear.parameter_shapes is not None


# ----- writes that fail part-way -------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import annie
    from annie import nn, optim, losses
    kind, folder = sys.argv[1], sys.argv[2]
    annie.manual_seed(1)
    X = np.random.default_rng(0).standard_normal((64, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = optim.Adam(model.parameters())
    if kind == "save":
        annie.save(nn.Linear(2, 2), folder + "/model.annie")  # the previous, small, file
    else:
        annie.fit(model, losses.cross_entropy, optimizer, X, y, epochs=1, verbose=0,
                  checkpoint_dir=folder)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    try:
        if kind == "save":
            annie.save(model, folder + "/model.annie")
        else:
            annie.fit(model, losses.cross_entropy, optimizer, X, y, epochs=3, verbose=0,
                      checkpoint_dir=folder, resume=True)
    except annie.WriteError as error:
        print(json.dumps({"type": type(error).__name__, "message": str(error),
                          "errno": error.errno, "is_oserror": isinstance(error, OSError)}))
""")


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32",
                    reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("kind", ["save", "checkpoint"])
def test_a_write_past_the_file_size_limit_keeps_the_previous_file(tmp_path, kind):
    completed = subprocess.run([sys.executable, "-c", CHILD, kind, str(tmp_path)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["type"] == "WriteError" and report["is_oserror"] and report["errno"] == 27
    assert "previous file is unchanged" in report["message"]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    if kind == "save":
        assert str(tmp_path / "model.annie") in report["message"]
        previous = annie.load(tmp_path / "model.annie")
        assert isinstance(previous, nn.Linear) and previous.weight.shape == (2, 2)
    else:
        from annie.io import load_state
        state, meta = load_state(tmp_path / "checkpoint.ckpt")  # whole, and sealed
        assert state is not None and meta is not None
