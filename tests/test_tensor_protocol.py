"""The Tensor where users expect an array or a number (len, iteration, np.asarray, ufuncs,
float/int/index, format), one axis convention (``dim`` with NumPy's ``axis`` as an alias,
``keepdim``/``keepdims``), plain numbers in messages, and the core's single seams (astype with
the other methods, one wrapping helper, one "graph-free" predicate)."""
from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import annie
from annie import functional as F
from annie import losses, nn, optim
from annie.errors import ConfigError, DataError, ShapeError, plain_numbers

SRC = pathlib.Path(annie.__file__).parent


def _grid(requires_grad=False):
    return annie.tensor(np.arange(6.0).reshape(3, 2), requires_grad=requires_grad)


# ----- the array protocol ----------------------------------------------------------------------
def test_len_and_iteration_over_the_first_axis():
    t = _grid()
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(row, annie.Tensor) for row in rows)
    np.testing.assert_array_equal(np.stack([row.data for row in rows]),
                                  np.arange(6.0).reshape(3, 2))
    assert list(annie.tensor(np.zeros((0, 4)))) == []
    scalar = annie.tensor(1.0)
    with pytest.raises(TypeError, match="0-d"):
        len(scalar)
    with pytest.raises(TypeError, match="0-d"):
        iter(scalar).__next__()


def test_iteration_is_differentiable():
    t = _grid(requires_grad=True)
    total = None
    for weight, row in zip([1.0, 2.0, 3.0], t):
        term = row.sum() * weight
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_array_equal(t.grad, [[1, 1], [2, 2], [3, 3]])


def test_asarray_array_and_ufuncs_give_ndarrays():
    t = _grid(requires_grad=True)
    array = np.asarray(t)
    assert type(array) is np.ndarray and array.dtype == t.dtype
    np.testing.assert_array_equal(array, t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copied = np.array(t, copy=True)
    copied[0, 0] = 99.0
    assert t.data[0, 0] == 0.0
    for ufunc in (np.exp, np.sin, np.sqrt):
        result = ufunc(t)
        assert type(result) is np.ndarray
        np.testing.assert_allclose(result, ufunc(np.arange(6.0).reshape(3, 2)))
    stacked = np.array([annie.tensor(1.0), annie.tensor(2.5)])
    np.testing.assert_array_equal(stacked, [1.0, 2.5])


NUMPY_FUNCTIONS = {
    "mean": lambda a: np.mean(a),
    "mean axis dtype": lambda a: np.mean(a, axis=0, dtype=np.float32),
    "sum": lambda a: np.sum(a), "sum keepdims": lambda a: np.sum(a, axis=1, keepdims=True),
    "max": lambda a: np.max(a), "min axis": lambda a: np.min(a, axis=0),
    "amax": lambda a: np.amax(a), "prod": lambda a: np.prod(a), "std": lambda a: np.std(a),
    "var ddof": lambda a: np.var(a, ddof=1), "argmax": lambda a: np.argmax(a, axis=1),
    "any": lambda a: np.any(a), "all": lambda a: np.all(a, axis=0),
    "cumsum": lambda a: np.cumsum(a, axis=0), "median": lambda a: np.median(a),
    "squeeze": lambda a: np.squeeze(a[None]), "swapaxes": lambda a: np.swapaxes(a, 0, 1),
    "transpose": lambda a: np.transpose(a), "reshape": lambda a: np.reshape(a, (2, 3)),
    "clip": lambda a: np.clip(a, 1, 4), "round": lambda a: np.round(a / 3, 1),
    "sort": lambda a: np.sort(-a), "where": lambda a: np.where(a > 2, a, 0),
    "concatenate": lambda a: np.concatenate([a, a]), "stack": lambda a: np.stack((a, a)),
    "dot": lambda a: np.dot(a, a.T), "norm": lambda a: np.linalg.norm(a),
    "allclose": lambda a: np.allclose(a, a), "isclose": lambda a: np.isclose(a, 1.0),
    "nanmean": lambda a: np.nanmean(a), "average": lambda a: np.average(a, weights=a),
}


@pytest.mark.parametrize("name", NUMPY_FUNCTIONS)
def test_numpy_functions_on_a_tensor_give_what_they_give_for_its_array(name):
    """np.mean(t), np.max(t, axis=0), np.concatenate([t, t]) ...: computed on the values,
    outside the graph, with the same type and value as for the ndarray (NumPy passes dtype=
    and out= on to a method of the same name, which a Tensor's differentiable ops do not
    take)."""
    function = NUMPY_FUNCTIONS[name]
    t, array = _grid(requires_grad=True), np.arange(6.0).reshape(3, 2)
    expected, result = function(array), function(t)
    assert type(result) is type(expected)
    assert np.asarray(result).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(result, expected)
    assert t.grad is None and not isinstance(result, annie.Tensor)


def test_numpy_functions_write_into_out_and_read_tensors_anywhere():
    t = _grid(requires_grad=True)
    out = np.empty(2)
    assert np.max(t, axis=0, out=out) is out
    np.testing.assert_array_equal(out, [4.0, 5.0])
    assert np.sum(t, dtype=np.float32).dtype == np.float32
    u = annie.tensor(np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(np.concatenate([t, u], axis=1),
                                  np.concatenate([t.data, u.data], axis=1))
    np.testing.assert_array_equal(np.einsum("ij,ij->i", t, u), t.data.sum(axis=1))
    assert t.mean().requires_grad  # the methods stay the differentiable ops


def test_ndarray_operators_still_build_the_graph():
    t = _grid(requires_grad=True)
    for result in (np.ones(2) * t, np.ones((3, 2)) + t, np.float64(2.0) * t, t * np.ones(2)):
        assert isinstance(result, annie.Tensor) and result.requires_grad


def test_python_numbers_from_one_element_tensors():
    value = annie.tensor(np.array([[3.75]]))
    assert float(value) == 3.75 and int(value) == 3
    assert f"{value:.1f}" == "3.8" and f"{annie.tensor(7.0):>5.1f}" == "  7.0"
    assert [10, 20, 30][annie.tensor(np.array(2))] == 30
    assert range(annie.tensor(np.array(4, dtype=np.int64)))[-1] == 3
    assert annie.tensor(np.array([1.5, 2.0])).tolist() == [1.5, 2.0]
    with pytest.raises(ShapeError, match="only a one-element tensor"):
        float(_grid())
    with pytest.raises(ShapeError, match="2 elements"):
        int(annie.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer tensors"):
        [1, 2][annie.tensor(1.0)]
    with pytest.raises(ShapeError):
        f"{_grid():.2f}"
    assert "tensor(" in f"{_grid()}"


# ----- dim, with axis as an alias -----------------------------------------------------------------
X = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions_take_dim_keepdim_and_their_numpy_aliases(name):
    reference = getattr(np, name)(X, axis=1, keepdims=True)
    t = annie.tensor(X)
    for call in (lambda: getattr(t, name)(dim=1, keepdim=True),
                 lambda: getattr(t, name)(axis=1, keepdims=True),
                 lambda: getattr(t, name)(1, True),
                 lambda: getattr(annie.ops, name)(t, dim=1, keepdims=True)):
        np.testing.assert_array_equal(call().data, reference)
    np.testing.assert_array_equal(getattr(t, name)(dim=(0, 2)).data,
                                  getattr(np, name)(X, axis=(0, 2)))
    with pytest.raises(ConfigError, match="dim=1 and axis=2"):
        getattr(t, name)(dim=1, axis=2)


def test_shape_ops_take_dim_and_axis():
    a, b = annie.tensor(X), annie.tensor(X + 1)
    for key in ("dim", "axis"):
        np.testing.assert_array_equal(annie.concat([a, b], **{key: 2}).data,
                                      np.concatenate([X, X + 1], axis=2))
        np.testing.assert_array_equal(annie.stack([a, b], **{key: 1}).data,
                                      np.stack([X, X + 1], axis=1))
        parts = annie.split(a, 2, **{key: 2})
        np.testing.assert_array_equal(parts[1].data, X[:, :, 2:])
        assert annie.ops.unsqueeze(a, **{key: 1}).shape == (2, 1, 3, 4)
        assert annie.ops.squeeze(annie.tensor(np.zeros((2, 1, 3))), **{key: 1}).shape == (2, 3)
    assert a.unsqueeze(dim=-1).shape == (2, 3, 4, 1)
    assert a.flatten().shape == (2, 12) and a.flatten(start_dim=0).shape == (24,)
    assert a.flatten(start_axis=0, end_dim=1).shape == (6, 4) and a.flatten(1, 1).shape == X.shape
    with pytest.raises(ConfigError, match="dim=0 and axis=1"):
        annie.concat([a, b], dim=0, axis=1)
    with pytest.raises(ShapeError, match="flatten"):
        a.flatten(2, 1)


def test_softmax_family_takes_dim_everywhere():
    logits = annie.tensor(X)
    expected = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    for result in (F.softmax(logits, dim=1), F.softmax(logits, axis=1), F.softmax(logits, 1),
                   nn.Softmax(dim=1)(logits), nn.Softmax(axis=1)(logits)):
        np.testing.assert_allclose(result.data, expected)
    np.testing.assert_allclose(F.log_softmax(logits, dim=1).data, np.log(expected))
    np.testing.assert_allclose(nn.LogSoftmax(axis=1)(logits).data, np.log(expected))
    assert nn.Softmax(axis=0).dim == 0 and nn.Softmax().dim == -1
    with pytest.raises(ConfigError, match="dim=0 and axis=1"):
        F.softmax(logits, dim=0, axis=1)


# ----- messages print plain numbers -----------------------------------------------------------------
MESSAGES = [
    (lambda: nn.Linear(np.int64(0), 2), "got 0"),
    (lambda: losses.binary_cross_entropy(np.array([1.5], np.float32), np.ones(1, np.float32)),
     "found 1.5"),
    (lambda: losses.kl_divergence(np.array([-0.5, 1.5]), np.array([0.5, 0.5])), "found -0.5"),
    (lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0, 7])), "class label 7"),
    (lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=np.float64(-0.5)), "got -0.5"),
    (lambda: optim.Adam(nn.Linear(2, 2).parameters(), betas=(np.float32(2.0), 0.9)), "got 2.0"),
    (lambda: nn.Embedding(np.int32(4), np.int64(-3)), "got -3"),
    (lambda: annie.tensor(np.zeros(4)).reshape(np.int64(3)), "into (3,)"),
]


@pytest.mark.parametrize("make, expected", MESSAGES)
def test_messages_print_plain_numbers(make, expected):
    with pytest.raises(annie.AnnieError) as info:
        make()
    message = str(info.value)
    assert expected in message and "np." not in message, message


def test_plain_numbers_rewrites_numpy_scalar_reprs():
    text = (f"{np.int64(5)!r} {np.float32(0.25)!r} {(np.int64(2), np.uint8(3))!r} "
            f"{np.True_!r} {np.float64('nan')!r} {np.str_('keep')!r}")
    assert plain_numbers(text) == "5 0.25 (2, 3) True nan np.str_('keep')"
    assert str(DataError(f"found {np.float16(1.5)!r}")) == "found 1.5"
    assert "np." not in repr(optim.Adam(nn.Linear(2, 2).parameters(), lr=np.float64(0.01)))
    assert "np." not in repr(losses.CrossEntropy(label_smoothing=np.float64(0.1)))


# ----- the core's seams ---------------------------------------------------------------------------------
def _imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_tensor_module_imports_nothing_from_ops():
    imported = _imported_modules(SRC / "tensor.py")
    assert not any("ops" in name for name in imported), imported
    t = annie.tensor(np.array([1.5, 2.0]), requires_grad=True)
    cast = t.astype(np.float32)
    assert cast.dtype == np.float32 and cast.requires_grad
    (cast * 2).sum().backward()
    assert t.grad.dtype == np.float64 and list(t.grad) == [2.0, 2.0]


def test_one_graph_free_predicate_and_one_wrapping_helper():
    from annie.tensor import is_graph_free, wrap_array
    assert not is_graph_free()
    with annie.no_grad():
        assert is_graph_free()
        with annie.detect_anomaly():
            assert not is_graph_free()
    wrapped = wrap_array(np.ones(2))
    assert isinstance(wrapped, annie.Tensor) and not wrapped.requires_grad and wrapped.is_leaf
    for path in (SRC / "nn").glob("*.py"):
        text = path.read_text()
        assert "_anomaly_hooks" not in text and "Tensor.__new__" not in text, path.name
    uses = [path.name for path in SRC.rglob("*.py") if "Tensor.__new__(" in path.read_text()]
    assert uses == ["tensor.py"] and (SRC / "tensor.py").read_text().count("Tensor.__new__(") == 1


def test_backend_has_no_unused_array_namespace():
    from annie import backend
    assert not hasattr(backend, "xp")
