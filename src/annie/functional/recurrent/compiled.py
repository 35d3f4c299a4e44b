"""Optional compiled per-step kernels (``pip install annie[fast]``: numba).

A recurrent step on a small batch costs little arithmetic but ten to twenty NumPy calls, each
with a fixed cost of about a microsecond; at batch 1 that fixed cost is most of the time. Here
the elementwise work of one LSTM or GRU step between two tanh calls is one loop (``loops.py``),
compiled by numba: the forward step becomes 6 calls instead of 10 (LSTM) or 12 (GRU), the
backward step 2 or 3 instead of about 18. The tanh calls stay NumPy's (vectorised; numba's
tanh is scalar and slower than NumPy's from a batch of about 16 on), and so do the matrix
products (BLAS), except for the float32 LSTM below.

The NumPy steps in ``lstm.py`` and ``gru.py`` are the reference: these loops compute the same
formulas and are tested equal to them. Compilation happens on first use, not at
``import annie``, and is cached on disk (numba's ``cache=True``), so only the first run on a
machine pays it. ``ANNIE_NUMBA=0`` in the environment turns the compiled steps off.

In float32 (annie's default) the LSTM goes further. Its forward step is one compiled call
(recurrent part added, every tanh, the cell update and h'), with tanh as a rational function
(``tanh_scalar``) that the compiler vectorises: faster than NumPy's tanh, to a few float32
ulps. Where batch * hidden is small (``sequence_functions``) the whole recurrence, forward and
backward, is one compiled call each, the per-step matrix products included (``add_product``,
written loops: at these sizes as fast as a BLAS call and free of its per-call cost), so no
Python or NumPy call is made per step. For batch 2 to 255 beyond that the steps run gate-major
(``column_functions``: W_hh @ h^T per step, pre-activations (4H, T, B)), their whole loop one
compiled call too where NumPy's OpenBLAS is found (``column_sequence_functions``: the loop calls
its gemm directly). Every float32 LSTM path here reads the caller's gate order (i, f, g, o) on
its unscaled weights (``CallerOrder``), so a call makes no permuted or halved copy of a weight
(W_hh^T, where a loop needs it in memory, comes from ``transposed``). float64 keeps
NumPy's tanh (exact to its last bits).
"""
from __future__ import annotations

import functools
import os
from types import FunctionType, SimpleNamespace

import numpy as np

from . import loops as python_loops
from .loops import BLAS_LOOPS, HELPERS, LOOPS


# ----- steps with the NumPy steps' signatures ----------------------------------------------
class CallerOrder(tuple):
    """A (forward_step, backward_step) pair whose loops read the gate blocks in the caller's
    order (i, f, g, o for the LSTM) on unscaled weights: the kernel then makes no permuted or
    halved copy of the weights (``SequenceRun.keep_caller_order``)."""


def build_steps(loops: SimpleNamespace) -> dict:
    """{"lstm": (forward_step, backward_step), "gru": (...)} calling ``loops`` (the functions
    above, compiled or not) between NumPy's tanh calls."""

    def lstm_forward(gates, recurrent, c_previous, c_new, tanh_c, h_new):
        gates += recurrent
        np.tanh(gates, out=gates)
        loops.lstm_cell_update(gates, c_previous, c_new)
        np.tanh(c_new, out=tanh_c)
        np.multiply(gates[:, :c_new.shape[1]], tanh_c, out=h_new)

    def lstm_backward(gates, tanh_c, c_previous, grad_output, dh, dc, dc_previous, work,
                      caller_order=False):
        if grad_output is None:
            loops.lstm_backward(gates, tanh_c, c_previous, dh, False, dh, dc, dc_previous,
                                caller_order)
        else:
            loops.lstm_backward(gates, tanh_c, c_previous, grad_output, True, dh, dc,
                                dc_previous, caller_order)

    def lstm_backward_caller_order(gates, tanh_c, c_previous, grad_output, dh, dc, dc_previous,
                                   work):
        lstm_backward(gates, tanh_c, c_previous, grad_output, dh, dc, dc_previous, work, True)

    def gru_forward(gates, recurrent, bias_n, h_previous, h_new):
        hidden = h_new.shape[1]
        if bias_n is None:
            # no b_hn: an empty stand-in (h_new[0] fails where no sequence runs any more)
            loops.gru_add_recurrent(gates, recurrent, gates.reshape(-1)[:0], False)
        else:
            loops.gru_add_recurrent(gates, recurrent, bias_n, True)
        reset_update = gates[:, :2 * hidden]
        np.tanh(reset_update, out=reset_update)
        loops.gru_candidate(gates, recurrent)
        candidate = gates[:, 2 * hidden:]
        np.tanh(candidate, out=candidate)
        loops.gru_mix(gates, h_previous, h_new)

    def gru_backward(gates, recurrent, h_previous, grad_output, dh, carry, work):
        if grad_output is None:
            loops.gru_backward(gates, recurrent, h_previous, dh, False, dh, carry)
        else:
            loops.gru_backward(gates, recurrent, h_previous, grad_output, True, dh, carry)

    steps = {}
    if hasattr(loops, "lstm_columns_sequence_forward"):
        steps["lstm_columns_sequence"] = (loops.lstm_columns_sequence_forward,
                                          loops.lstm_columns_sequence_backward)
    return {**steps, "transpose": loops.transpose, "lstm": (lstm_forward, lstm_backward),
            "lstm_float32": CallerOrder((loops.lstm_step_forward, lstm_backward_caller_order)),
            "lstm_sequence": (loops.lstm_sequence_forward, loops.lstm_sequence_backward),
            "lstm_columns": (loops.lstm_columns_forward, loops.lstm_columns_backward),
            "gru": (gru_forward, gru_backward)}


def python_steps() -> dict:
    """The loop steps uncompiled (slow; for tests on machines without numba)."""
    return build_steps(SimpleNamespace(**{loop.__name__: loop for loop in LOOPS + BLAS_LOOPS}))


@functools.lru_cache(maxsize=None)
def numpy_openblas() -> str | None:
    """The path of the OpenBLAS library NumPy uses, when it has the C interface of
    ``loops.GEMM_SYMBOLS``; None otherwise (another BLAS, another build): the Python loop over
    compiled steps runs then."""
    import ctypes
    import pathlib

    from threadpoolctl import threadpool_info
    package = pathlib.Path(np.__file__).resolve().parent  # its wheel's libraries: numpy.libs
    folders = {package, package.parent / "numpy.libs"}
    for pool in threadpool_info():
        path = pathlib.Path(pool.get("filepath", "")).resolve()
        if pool.get("internal_api") != "openblas" or not folders & set(path.parents):
            continue  # another library's OpenBLAS (SciPy's has its own): not NumPy's pool
        try:
            library = ctypes.CDLL(pool["filepath"])
        except OSError:
            continue
        symbols = (*python_loops.GEMM_SYMBOLS.values(), python_loops.TRANSPOSE_SYMBOL)
        if all(hasattr(library, symbol) for symbol in symbols):
            return pool["filepath"]
    return None


@functools.lru_cache(maxsize=None)
def numba_steps() -> dict | None:
    """The loop steps compiled by numba (cached on disk), or None without numba."""
    try:
        import numba
    except ImportError:
        return None
    from numba.extending import overload

    options = python_loops.NUMBA_OPTIONS
    blas_path = numpy_openblas()
    if blas_path is not None:
        from llvmlite import binding
        binding.load_library_permanently(blas_path)  # its gemm, found by name from the loops
    blas = python_loops.register_overloads(numba, overload, options, blas_path is not None)
    namespace = dict(vars(python_loops))  # the loops call the compiled helpers
    # numba's disk cache names a function's entries by its qualified name and checks only its
    # source file; with OpenBLAS the loops call its functions (transpose_into, the products),
    # without it they do not, so the two builds are cached under different names (code cached
    # with the calls and loaded where the library is not loaded would jump to address 0).
    suffix = "_openblas" if blas else ""
    for function in HELPERS + LOOPS + (BLAS_LOOPS if blas else ()):
        copy = FunctionType(function.__code__, namespace, function.__name__,
                            function.__defaults__, function.__closure__)
        copy.__qualname__, copy.__doc__ = function.__qualname__ + suffix, function.__doc__
        inline = "always" if function in HELPERS else "never"  # helpers: part of each loop
        namespace[function.__name__] = numba.njit(inline=inline, **options)(copy)
    return build_steps(SimpleNamespace(**{loop.__name__: namespace[loop.__name__]
                                          for loop in LOOPS + (BLAS_LOOPS if blas else ())}))


def transposed(array: np.ndarray) -> np.ndarray:
    """A 2-D ``array``'s transpose as a new C-contiguous array: ``loops.transpose`` compiled
    (OpenBLAS's somatcopy in float32) where the compiled steps run, else NumPy's copy, which
    walks one side with a large stride (a (4H, H) weight at H = 512: 2.7 ms, somatcopy 0.23 ms).
    """
    steps = numba_steps() if os.environ.get("ANNIE_NUMBA", "1") != "0" else None
    if steps is None or array.ndim != 2 or array.dtype not in (np.float32, np.float64):
        return np.ascontiguousarray(array.T)
    out = np.empty(array.shape[::-1], dtype=array.dtype)
    steps["transpose"](out, np.ascontiguousarray(array))
    return out


def enabled() -> bool:
    """True when the compiled steps are used: numba is installed and ANNIE_NUMBA is not 0."""
    return os.environ.get("ANNIE_NUMBA", "1") != "0" and numba_steps() is not None


def step_functions(kind: str, numpy_steps: tuple, dtype=None) -> tuple:
    """The (forward_step, backward_step) pair the kernels of ``kind`` use: compiled ones when
    ``enabled()`` and ``dtype`` is float32 or float64 (for a float32 LSTM the one-call forward
    step), else ``numpy_steps`` (float16 and longdouble layers run the NumPy steps)."""
    if os.environ.get("ANNIE_NUMBA", "1") == "0" or (
            dtype is not None and np.dtype(dtype) not in (np.float32, np.float64)):
        return numpy_steps  # the compiled loops are built for float32 and float64 only
    compiled = numba_steps()
    if compiled is None:
        return numpy_steps
    return compiled.get(f"{kind}_float32" if dtype == np.float32 else kind, compiled[kind])


# Which path runs a float32 LSTM, measured (a layer's forward and backward pass, T = 50, 16
# inputs, wall time on an idle 2-core machine, one and two threads; BENCHMARKS.md, "Choosing the
# path"): the whole-sequence loops (their written products beat a BLAS call at these sizes) up
# to batch 4 where batch * hidden <= 2048, at batch 1 up to hidden 256 (beyond, BLAS's
# matrix-vector product on two threads streams W_hh faster), and only for sequences of at least
# hidden / 16 steps: their forward reads W_hh^T, a copy made per call (``transposed``, 48 us at
# hidden 256) that a step saves about 3 us of, so a short sequence runs faster on the per-step
# path's BLAS product with W_hh as it is (hidden 256, one step with a graph recorded: 137 -> 91
# us a call; under no_grad one step skips the kernel: BENCHMARKS.md, "One step at a time"); the
# gate-major steps for batch 2 to 255 beyond that (their whole loop compiled where NumPy's
# OpenBLAS is found); the batch-major steps at batch 1 and from batch 256 on (there h @ W_hh^T
# is as fast and the elementwise loop over whole rows faster).
SEQUENCE_MAX_BATCH, SEQUENCE_MAX_ELEMENTS = 4, 2048
SEQUENCE_MAX_HIDDEN_AT_BATCH_1 = 256
SEQUENCE_HIDDEN_PER_STEP = 16
COLUMNS_BATCHES = range(2, 256)


def sequence_functions(kind: str, dtype, batch: int, hidden: int, steps: int) -> tuple | None:
    """The compiled (forward, backward) loops over a whole sequence of ``steps`` for ``kind``,
    or None where the per-step path is used: numba missing or off, not float32, batch above
    ``SEQUENCE_MAX_BATCH``, batch * hidden above ``SEQUENCE_MAX_ELEMENTS``, batch 1 with hidden
    above ``SEQUENCE_MAX_HIDDEN_AT_BATCH_1``, or fewer than hidden / 16 steps
    (``SEQUENCE_HIDDEN_PER_STEP``)."""
    if (dtype != np.float32 or batch > SEQUENCE_MAX_BATCH
            or batch * hidden > SEQUENCE_MAX_ELEMENTS
            or (batch == 1 and hidden > SEQUENCE_MAX_HIDDEN_AT_BATCH_1)
            or steps * SEQUENCE_HIDDEN_PER_STEP < hidden
            or os.environ.get("ANNIE_NUMBA", "1") == "0"):
        return None
    compiled = numba_steps()
    return None if compiled is None else compiled.get(f"{kind}_sequence")


def column_functions(kind: str, dtype, batch: int) -> tuple | None:
    """The compiled (forward, backward) steps of the gate-major per-step path for ``kind``
    (``loops.lstm_columns_forward`` / ``_backward``), or None: numba missing or off, not
    float32, or the batch outside ``COLUMNS_BATCHES``.

    Gate-major, a step's recurrent product is W_hh @ h_{t-1}^T, an output of (4H, batch):
    OpenBLAS's AVX-512 kernels run it 1.2x to 2.6x faster than h_{t-1} @ W_hh^T, an output of
    (batch, 4H) (one thread: (16, 256) hidden 256 140 -> 49 us, batch 32 151 -> 83 us; two
    threads 77 -> 29 us and 121 -> 46 us; BENCHMARKS.md, "Gate-major products")."""
    if (dtype != np.float32 or batch not in COLUMNS_BATCHES
            or os.environ.get("ANNIE_NUMBA", "1") == "0"):
        return None
    compiled = numba_steps()
    return None if compiled is None else compiled.get(f"{kind}_columns")


def column_sequence_functions(kind: str, dtype, batch: int) -> tuple | None:
    """The gate-major path's whole recurrence as one compiled call each way, its products
    calling NumPy's OpenBLAS directly (``loops.lstm_columns_sequence_forward`` / ``_backward``),
    where ``column_functions`` would run and that OpenBLAS is found; else None."""
    if column_functions(kind, dtype, batch) is None:
        return None
    return numba_steps().get(f"{kind}_columns_sequence")
