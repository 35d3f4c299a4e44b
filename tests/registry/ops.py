"""Registry cases of every primitive op (annie.ops and the Tensor operators), each with the
NumPy expression it must equal. Inputs avoid the points where an op has no derivative (0 for
abs, the clip bounds, ties of maximum) except where a case tests the tie rule on purpose."""
from __future__ import annotations

import numpy as np

import annie

from . import Case


def _arrays(*shapes, low=None, high=None):
    """Standard normal arrays, or uniform on [low, high] when given."""
    def make(rng, dtype):
        if low is None:
            return [rng.standard_normal(shape).astype(dtype) for shape in shapes]
        return [rng.uniform(low, high, shape).astype(dtype) for shape in shapes]
    return make


def _away_from_zero(*shapes):
    def make(rng, dtype):
        out = []
        for shape in shapes:
            values = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
            out.append(values.astype(dtype))
        return out
    return make


def _where_inputs(rng, dtype):
    condition = rng.random((3, 4)) > 0.5
    return [condition, rng.standard_normal((3, 4)).astype(dtype),
            rng.standard_normal((4,)).astype(dtype)]


def _pairwise_ties(rng, dtype):
    """Each row's maximum and minimum appear exactly twice (the tie rule splits the gradient
    evenly, which is also what central differences measure for a pair)."""
    rows = [rng.permutation(np.array([5.0, 5.0, 3.5, 2.0, 1.0, 1.0]) + offset)
            for offset in (0.0, 0.25, -2.0)]
    return [np.array(rows).astype(dtype)]


def _split(x):
    return tuple(annie.split(x, 3, axis=1))


def _split_at(x):
    return tuple(annie.split(x, [1, 3], axis=0))


CASES = [
    # arithmetic with broadcasting (gradients are un-broadcast to each input's shape)
    Case("add", lambda a, b: a + b, _arrays((3, 4), (3, 4)), lambda a, b: a + b),
    Case("add_broadcast_row", lambda a, b: a + b, _arrays((3, 4), (4,)), lambda a, b: a + b),
    Case("add_broadcast_both", lambda a, b: a + b, _arrays((3, 1), (1, 4)), lambda a, b: a + b),
    Case("add_scalar", lambda a: a + 2.5, _arrays((3, 4)), lambda a: a + 2.5),
    Case("radd_scalar", lambda a: 2.5 + a, _arrays((3, 4)), lambda a: 2.5 + a),
    Case("sub_broadcast", lambda a, b: a - b, _arrays((2, 3, 4), (3, 1)), lambda a, b: a - b),
    Case("rsub_scalar", lambda a: 1.0 - a, _arrays((3,)), lambda a: 1.0 - a),
    Case("mul_broadcast", lambda a, b: a * b, _arrays((3, 4), (3, 1)), lambda a, b: a * b),
    Case("mul_0d", lambda a, b: a * b, _arrays((3, 4), ()), lambda a, b: a * b),
    Case("div_broadcast", lambda a, b: a / b, _away_from_zero((3, 4), (4,)), lambda a, b: a / b),
    Case("rdiv_scalar", lambda a: 2.0 / a, _away_from_zero((5,)), lambda a: 2.0 / a),
    Case("neg", lambda a: -a, _arrays((3, 4)), lambda a: -a),
    Case("pow_int", lambda a: a ** 3, _arrays((3, 4)), lambda a: a ** 3),
    Case("pow_fraction", lambda a: a ** 2.5, _arrays((3, 4), low=0.5, high=2.0),
         lambda a: a ** 2.5),
    Case("pow_tensor", lambda a, b: a ** b, _arrays((3, 4), (3, 4), low=0.5, high=2.0),
         lambda a, b: a ** b),
    Case("pow_tensor_broadcast", annie.ops.pow, _arrays((3, 4), (4,), low=0.5, high=2.0),
         lambda a, b: a ** b),
    Case("rpow", lambda a: 2.0 ** a, _arrays((3, 4)), lambda a: 2.0 ** a),
    # elementwise functions
    Case("exp", annie.exp, _arrays((3, 4)), np.exp),
    Case("log", annie.log, _arrays((3, 4), low=0.2, high=3.0), np.log),
    Case("sqrt", annie.sqrt, _arrays((3, 4), low=0.2, high=3.0), np.sqrt),
    Case("abs", annie.abs, _away_from_zero((3, 4)), np.abs),
    Case("clip", lambda a: annie.clip(a, -0.5, 0.5), _arrays((4, 5)),
         lambda a: np.minimum(np.maximum(a, -0.5), 0.5)),
    Case("clip_low_only", lambda a: annie.clip(a, low=0.0), _arrays((4, 5)),
         lambda a: np.maximum(a, 0.0)),
    Case("clip_high_only", lambda a: annie.clip(a, high=0.3), _arrays((4, 5)),
         lambda a: np.minimum(a, 0.3)),
    Case("where_broadcast", annie.where, _where_inputs,
         lambda c, a, b: np.where(c, a, np.broadcast_to(b, a.shape))),
    Case("maximum", annie.maximum, _arrays((3, 4), (3, 4)), np.maximum),
    Case("maximum_broadcast", annie.maximum, _arrays((3, 4), (4,)), np.maximum),
    Case("minimum", annie.minimum, _arrays((3, 4), (3, 1)), np.minimum),
    # matrix products
    Case("matmul_2d", annie.matmul, _arrays((3, 4), (4, 2)), lambda a, b: a @ b),
    Case("matmul_operator", lambda a, b: a @ b, _arrays((2, 3), (3, 2)), lambda a, b: a @ b),
    Case("matmul_1d_2d", annie.matmul, _arrays((4,), (4, 3)), lambda a, b: a @ b),
    Case("matmul_2d_1d", annie.matmul, _arrays((3, 4), (4,)), lambda a, b: a @ b),
    Case("matmul_1d_1d", annie.matmul, _arrays((4,), (4,)), lambda a, b: np.dot(a, b)),
    Case("matmul_batched", annie.matmul, _arrays((2, 3, 4), (2, 4, 2)), lambda a, b: a @ b),
    Case("matmul_batched_2d", annie.matmul, _arrays((2, 3, 4), (4, 2)), lambda a, b: a @ b),
    Case("matmul_2d_batched", annie.matmul, _arrays((3, 4), (2, 4, 2)), lambda a, b: a @ b),
    Case("matmul_batch_broadcast", annie.matmul, _arrays((2, 1, 3, 4), (3, 4, 2)),
         lambda a, b: a @ b),
    Case("matmul_batched_1d", annie.matmul, _arrays((2, 3, 4), (4,)), lambda a, b: a @ b),
    # reductions
    Case("sum_all", lambda a: a.sum(), _arrays((3, 4)), lambda a: a.sum()),
    Case("sum_axis0", lambda a: a.sum(axis=0), _arrays((3, 4)), lambda a: a.sum(axis=0)),
    Case("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), _arrays((2, 3, 4)),
         lambda a: a.sum(axis=(0, 2), keepdims=True)),
    Case("sum_negative_axis", lambda a: a.sum(axis=-1), _arrays((2, 3, 4)),
         lambda a: a.sum(axis=-1)),
    Case("mean_all", lambda a: a.mean(), _arrays((3, 4)), lambda a: a.mean()),
    Case("mean_axis1_keepdims", lambda a: a.mean(axis=1, keepdims=True), _arrays((3, 4)),
         lambda a: a.mean(axis=1, keepdims=True)),
    Case("mean_axes", lambda a: a.mean(axis=(0, 1)), _arrays((2, 3, 4)),
         lambda a: a.mean(axis=(0, 1))),
    Case("max_all", lambda a: a.max(), _arrays((3, 4)), lambda a: a.max()),
    Case("max_axis1", lambda a: a.max(axis=1), _arrays((3, 4)), lambda a: a.max(axis=1)),
    Case("max_axis0_keepdims", lambda a: a.max(axis=0, keepdims=True), _arrays((3, 4)),
         lambda a: a.max(axis=0, keepdims=True)),
    Case("max_ties", lambda a: a.max(axis=1), _pairwise_ties, lambda a: a.max(axis=1)),
    Case("min_all", lambda a: a.min(), _arrays((3, 4)), lambda a: a.min()),
    Case("min_axis_negative", lambda a: a.min(axis=-1), _arrays((2, 3, 4)),
         lambda a: a.min(axis=-1)),
    Case("min_ties", lambda a: a.min(axis=1, keepdims=True), _pairwise_ties,
         lambda a: a.min(axis=1, keepdims=True)),
    # shapes
    Case("reshape", lambda a: a.reshape(4, 3), _arrays((3, 4)), lambda a: a.reshape(4, 3)),
    Case("reshape_minus_one", lambda a: a.reshape((-1,)), _arrays((2, 3, 2)),
         lambda a: a.reshape(-1)),
    Case("transpose_T", lambda a: a.T, _arrays((3, 4)), lambda a: a.T),
    Case("transpose_axes", lambda a: a.transpose(1, 2, 0), _arrays((2, 3, 4)),
         lambda a: a.transpose(1, 2, 0)),
    Case("swapaxes", lambda a: a.swapaxes(0, 2), _arrays((2, 3, 4)),
         lambda a: a.swapaxes(0, 2)),
    Case("getitem_slice", lambda a: a[1:, ::2], _arrays((3, 5)), lambda a: a[1:, ::2]),
    Case("getitem_negative_step", lambda a: a[::-1, 1], _arrays((3, 5)), lambda a: a[::-1, 1]),
    Case("getitem_int", lambda a: a[1], _arrays((3, 4)), lambda a: a[1]),
    Case("getitem_ellipsis_newaxis", lambda a: a[..., None, 0], _arrays((2, 3)),
         lambda a: a[..., None, 0]),
    Case("getitem_int_array_repeats", lambda a: a[np.array([0, 2, 0, 0])], _arrays((3, 4)),
         lambda a: a[np.array([0, 2, 0, 0])]),
    Case("getitem_list", lambda a: a[[1, 1, 2]], _arrays((3, 4)), lambda a: a[[1, 1, 2]]),
    Case("getitem_column_array", lambda a: a[:, np.array([3, 0, 3])], _arrays((3, 4)),
         lambda a: a[:, np.array([3, 0, 3])]),
    Case("getitem_pairs", lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])],
         _arrays((3, 4)), lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])]),
    Case("getitem_bool_mask", lambda a: a[np.array([True, False, True])], _arrays((3, 4)),
         lambda a: a[np.array([True, False, True])]),
    Case("getitem_bool_mask_2d", lambda a: a[a.data > 0], _arrays((3, 4)), lambda a: a[a > 0]),
    Case("getitem_tensor_index", lambda a: a[annie.tensor(np.array([2, 2]))], _arrays((3, 4)),
         lambda a: a[np.array([2, 2])]),
    Case("concat_axis0", lambda a, b, c: annie.concat([a, b, c]), _arrays((2, 3), (1, 3), (3, 3)),
         lambda a, b, c: np.concatenate([a, b, c])),
    Case("concat_axis1", lambda a, b: annie.concat([a, b], axis=1), _arrays((2, 3), (2, 1)),
         lambda a, b: np.concatenate([a, b], axis=1)),
    Case("concat_axis_negative", lambda a, b: annie.concat([a, b], axis=-1),
         _arrays((2, 2, 3), (2, 2, 2)), lambda a, b: np.concatenate([a, b], axis=-1)),
    Case("stack_axis0", lambda a, b: annie.stack([a, b]), _arrays((2, 3), (2, 3)),
         lambda a, b: np.stack([a, b])),
    Case("stack_axis1", lambda a, b, c: annie.stack([a, b, c], axis=1),
         _arrays((2, 3), (2, 3), (2, 3)), lambda a, b, c: np.stack([a, b, c], axis=1)),
    Case("stack_axis_negative", lambda a, b: annie.stack([a, b], axis=-1),
         _arrays((2, 3), (2, 3)), lambda a, b: np.stack([a, b], axis=-1)),
    Case("split_equal", _split, _arrays((2, 6)), lambda a: tuple(np.split(a, 3, axis=1))),
    Case("split_at_indices", _split_at, _arrays((4, 2)),
         lambda a: tuple(np.split(a, [1, 3], axis=0))),
    Case("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), _arrays((3, 1)),
         lambda a: np.broadcast_to(a, (2, 3, 4))),
    Case("squeeze", lambda a: a.squeeze(), _arrays((1, 3, 1)), lambda a: a.squeeze()),
    Case("squeeze_axis", lambda a: a.squeeze(0), _arrays((1, 3, 1)), lambda a: a.squeeze(0)),
    Case("unsqueeze", lambda a: a.unsqueeze(1), _arrays((2, 3)), lambda a: a[:, None]),
    Case("unsqueeze_negative", lambda a: a.unsqueeze(-1), _arrays((2, 3)), lambda a: a[..., None]),
    Case("flatten", lambda a: a.flatten(), _arrays((2, 3, 4)), lambda a: a.reshape(len(a), 12)),
    Case("flatten_from_0", lambda a: annie.ops.flatten(a, 0), _arrays((2, 3)),
         lambda a: a.reshape(-1)),
]


def _shared_subexpressions(x, y):
    """x and the intermediate a are each used on several paths (a diamond graph): every path's
    gradient must reach them before they pass it on."""
    a = x * y
    b = a.exp() * a
    return (a + b) * x + (b - a).sum(axis=0)


CASES.append(Case("graph_shared_subexpressions", _shared_subexpressions, _arrays((3, 4), (4,)),
                  lambda x, y: (x * y + np.exp(x * y) * x * y) * x
                  + (np.exp(x * y) * x * y - x * y).sum(axis=0)))

# Inputs with the batch first, for the empty-batch check. Not listed: reductions over the batch
# axis with no identity (max, min), fixed indices into it, shapes that name its size.
EMPTY_BATCH = {
    "add": (0, 1), "add_broadcast_row": (0,), "add_broadcast_both": (0,), "add_scalar": (0,),
    "radd_scalar": (0,), "sub_broadcast": (0,), "rsub_scalar": (0,), "mul_broadcast": (0, 1),
    "mul_0d": (0,), "div_broadcast": (0,), "rdiv_scalar": (0,), "neg": (0,), "pow_int": (0,),
    "pow_fraction": (0,), "pow_tensor": (0, 1), "pow_tensor_broadcast": (0,), "rpow": (0,),
    "exp": (0,), "log": (0,), "sqrt": (0,), "abs": (0,), "clip": (0,), "clip_low_only": (0,),
    "clip_high_only": (0,), "where_broadcast": (0, 1), "maximum": (0, 1),
    "maximum_broadcast": (0,), "minimum": (0, 1), "matmul_2d": (0,), "matmul_operator": (0,),
    "matmul_2d_1d": (0,), "matmul_batched": (0, 1), "matmul_batched_2d": (0,),
    "matmul_2d_batched": (1,), "matmul_batch_broadcast": (0,), "matmul_batched_1d": (0,),
    "sum_all": (0,), "sum_axis0": (0,), "sum_axes_keepdims": (0,), "sum_negative_axis": (0,),
    "mean_all": (0,), "mean_axis1_keepdims": (0,), "mean_axes": (0,), "max_axis1": (0,),
    "min_axis_negative": (0,), "reshape_minus_one": (0,), "transpose_T": (0,),
    "transpose_axes": (0,), "swapaxes": (0,), "getitem_slice": (0,),
    "getitem_ellipsis_newaxis": (0,), "getitem_column_array": (0,),
    "getitem_bool_mask_2d": (0,), "concat_axis0": (0, 1, 2), "concat_axis1": (0, 1),
    "concat_axis_negative": (0, 1), "stack_axis0": (0, 1), "stack_axis1": (0, 1, 2),
    "stack_axis_negative": (0, 1), "split_equal": (0,), "unsqueeze": (0,),
    "unsqueeze_negative": (0,), "flatten": (0,), "flatten_from_0": (0,),
    "graph_shared_subexpressions": (0,),
}
for _case in CASES:
    _case.batch = EMPTY_BATCH.get(_case.name, ())
