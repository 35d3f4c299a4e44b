"""The benchmark code path with tiny sizes and one repeat, so it cannot rot (no timing asserts),
plus the fast paths the benchmarks rely on: they must give the same numbers as the slow ones."""
import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

import annie
from annie import nn

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import run as bench_run  # noqa: E402
from benchmarks.harness import Contender, Settings, WorkloadResult, format_table, measure  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402
from benchmarks.workloads.peak import mlp_training_flops  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
STREAM = ["stream-lstm", "stream-gru", "stream-rnn", "stream-cell"]
IN_PROCESS = ["mlp-small", "mlp-mnist", "predict-1", "rnn", "lstm", "gru", "char-lstm",
              "generation", *STREAM, "matmul-peak"]
RECURRENT = ["rnn", "lstm", "gru", "char-lstm"]
TRAINING = ["mlp-small", "mlp-mnist", "rnn", "lstm", "gru", "char-lstm"]


def test_tiny_run_measures_every_in_process_workload(tmp_path, capsys):
    path = tmp_path / "bench.json"
    results = bench_run.main(["--tiny", "--json", str(path), "--only", ",".join(IN_PROCESS)])
    by_name = {result.name: result for result in results}
    assert list(by_name) == IN_PROCESS
    assert {name: result.error for name, result in by_name.items() if result.error} == {}
    for name in TRAINING + ["predict-1", "generation"] + STREAM:
        result = by_name[name]
        assert "annie" not in result.skipped, result.skipped
        assert result.seconds["annie"] > 0
        assert len(result.samples["annie"]) == 1  # one repeat, no warm-up block kept
        if HAS_TORCH:
            assert result.seconds["torch"] > 0
            assert result.ratio("torch") == pytest.approx(result.seconds["torch"]
                                                          / result.seconds["annie"])
    for name in ["mlp-small", "mlp-mnist", "predict-1"]:
        assert ("sklearn" in by_name[name].seconds) == HAS_SKLEARN
    for name in RECURRENT:  # the floor: the recurrent layer's BLAS calls alone
        assert by_name[name].seconds["floor"] > 0
    assert by_name["generation"].unit == "s/char"
    peak = by_name["matmul-peak"]
    assert peak.extra["peak_gflops"] > 0
    assert 0 < peak.extra["note_annie_fraction_of_peak"]
    document = json.loads(path.read_text())
    assert [entry["name"] for entry in document["results"]] == IN_PROCESS
    assert document["machine"]["cpu_count"] >= 1
    printed = capsys.readouterr().out
    assert "annie/pytorch" in printed and "mlp-mnist" in printed and "floor/pytorch" in printed


def test_tiny_sweep_per_thread_count(capsys):
    results = bench_run.main(["--tiny", "--sweep", "--sweep-kinds", "lstm,rnn", "--sweep-hidden",
                              "4", "--sweep-batch", "1,3", "--threads", "1,2", "--clock", "cpu"])
    assert [(r.name, r.extra["threads"]) for r in results] == [
        (f"{kind}-h4-b{batch}", threads) for threads in ("1", "2") for kind in ("lstm", "rnn")
        for batch in (1, 3)]
    for result in results:
        assert result.error is None and result.seconds["annie"] > 0
        assert result.seconds["floor"] > 0
        assert ("torch" in result.seconds) == HAS_TORCH
    printed = capsys.readouterr().out
    assert "threads: 1" in printed and "threads: 2" in printed
    assert "LSTM: annie/pytorch (floor/pytorch)" in printed and "RNN:" in printed


def test_floor_runs_the_kernels_products():
    from benchmarks.workloads.floor import recurrent_floor
    for kind in ("rnn", "gru", "lstm"):
        recurrent_floor(kind, 3, 2, 4, 5, input_grad=True, layers=2)()


def test_fresh_process_workloads_report_import_time_and_peak_rss():
    results = bench_run.main(["--tiny", "--only", "import,peak-rss"])
    imports, memory = results
    assert imports.error is None and memory.error is None, (imports.error, memory.error)
    assert 0 < imports.seconds["annie"] < 60
    assert 1 < memory.seconds["annie"] < 10_000  # MB
    assert 1 < memory.extra["note_numpy_only_mb"] < 10_000  # annie with ANNIE_NUMBA=0
    if HAS_TORCH:
        assert imports.seconds["torch"] > 0 and memory.seconds["torch"] > 0


def test_unknown_workload_is_refused():
    with pytest.raises(SystemExit):
        bench_run.main(["--tiny", "--only", "no-such-workload"])
    assert "mlp-small" in WORKLOADS


def test_harness_interleaves_and_computes_ratios():
    calls = []
    contenders = [Contender("annie", lambda: calls.append("a")),
                  Contender("torch", lambda: calls.append("t"), steps=2)]
    result = measure(WorkloadResult("toy", "toy"), contenders,
                     Settings(repeats=3, steps_per_block=2, warmup_blocks=1, settle_seconds=0,
                              min_block_seconds=0))
    # one untimed call each, then 4 blocks each; the order rotates every repeat, so torch
    # sometimes goes first
    assert calls == ["a", "t", "a", "a", "t", "t", "t", "t", "a", "a", "a", "a", "t", "t", "t", "t",
                     "a", "a"]
    assert len(result.samples["annie"]) == 3 and len(result.samples["torch"]) == 3
    result.seconds = {"annie": 1.0, "torch": 3.0}
    assert result.ratio("torch") == 3.0
    assert result.ratio("sklearn") is None
    rate = WorkloadResult("rate", "rate", unit="GFLOP/s", higher_is_better=True,
                          seconds={"annie": 6.0, "torch": 3.0})
    assert rate.ratio("torch") == 2.0
    table = format_table([result, rate])
    assert "3.00x" in table and "2.00x" in table


def test_training_flops_closed_form():
    # forward 2*B*(4*3 + 3*2) = 72 FLOPs at B=2; weight grads the same; input grad of layer 2: 24
    assert mlp_training_flops((4, 3, 2), 2) == 72 + 72 + 24


def test_linear_inference_path_equals_graph_path():
    layer = nn.Linear(5, 3).double()
    x = annie.tensor(np.random.default_rng(1).standard_normal((4, 5)))
    with_graph = layer(x).data
    with annie.no_grad():
        without_graph = layer(x)
    assert without_graph._ctx is None and not without_graph.requires_grad
    np.testing.assert_array_equal(without_graph.data, with_graph)
    np.testing.assert_allclose(with_graph, x.data @ layer.weight.data.T + layer.bias.data)


def test_fresh_gradients_accumulate_without_aliasing():
    layer = nn.Linear(3, 2).double()
    x = annie.tensor(np.random.default_rng(2).standard_normal((4, 3)))
    upstream = np.random.default_rng(3).standard_normal((4, 2))
    layer(x).backward(upstream)
    first = layer.weight.grad.copy()
    np.testing.assert_allclose(first, upstream.T @ x.data)  # dL/dW = g^T x
    layer(x).backward(upstream)  # a second backward adds in place into .grad
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
    np.testing.assert_allclose(layer.bias.grad, 2 * upstream.sum(axis=0))
    assert not np.shares_memory(layer.weight.grad, layer.bias.grad)


def test_shared_leaf_gradient_is_copied_not_aliased():
    a = annie.tensor(np.ones(3), requires_grad=True)
    b = annie.tensor(np.ones(3), requires_grad=True)
    (a + b).backward(np.full(3, 2.0))  # Add hands the same array to both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1
    np.testing.assert_array_equal(b.grad, np.full(3, 2.0))


def test_adam_step_benchmark_runs_and_restores_the_settings():
    import os

    import annie.optim.fused as fused
    from benchmarks import adam_step
    before = (os.environ.get("ANNIE_NUMBA"), fused.MIN_VALUES)
    results = adam_step.main(["--tiny"])
    assert sorted(results) == [64, 1000]
    assert all(time > 0 for times in results.values() for time in times.values())
    assert ("one loop" in results[64]) == (fused.compiled_adam() is not None)
    assert (os.environ.get("ANNIE_NUMBA"), fused.MIN_VALUES) == before
