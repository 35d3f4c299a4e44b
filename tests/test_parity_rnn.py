"""Recurrent layers and cells against PyTorch in float64: outputs and every gradient (input,
initial states, each parameter) with weights loaded from a PyTorch state_dict.

Golden fixtures (tests/fixtures/rnn.npz, from gen_rnn.py) always run; the live suite runs when
PyTorch is installed.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import annie
from annie import nn

_spec = importlib.util.spec_from_file_location(
    "gen_rnn", pathlib.Path(__file__).parent / "fixtures" / "gen_rnn.py")
gen_rnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_rnn)

TOL = 1e-6
LAYERS = {"rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
          "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
          "lstm": ("LSTM", {}), "gru": ("GRU", {})}


def run_annie(kind, options, state_dict, x, h0, c0, lengths, grad_out, grad_h, grad_c,
              batch_first=True):
    """Outputs and gradients of annie's layer, as a dict of float64 arrays."""
    layer_name, extra = LAYERS[kind]
    layer = getattr(nn, layer_name)(x.shape[-1], options["hidden_size"],
                                    num_layers=options["num_layers"],
                                    bidirectional=options["bidirectional"],
                                    batch_first=batch_first, dtype=np.float64, **extra)
    if isinstance(state_dict, np.ndarray):  # a flat vector in state_dict order (fixtures)
        flat, state_dict, offset = state_dict, {}, 0
        for name, param in layer.named_parameters():
            state_dict[name] = flat[offset:offset + param.size].reshape(param.shape)
            offset += param.size
        assert offset == flat.size
    layer.load_state_dict(state_dict)
    xt = annie.tensor(x, requires_grad=True)
    ht = annie.tensor(h0, requires_grad=True)
    ct = annie.tensor(c0, requires_grad=True) if c0 is not None else None
    if layer_name == "LSTM":
        out, (h_n, c_n) = layer(xt, (ht, ct), lengths=lengths)
        loss = (out * grad_out).sum() + (h_n * grad_h).sum() + (c_n * grad_c).sum()
    else:
        out, h_n = layer(xt, ht, lengths=lengths)
        loss = (out * grad_out).sum() + (h_n * grad_h).sum()
    loss.backward()
    result = {"output": out.data, "h_n": h_n.data, "grad_x": xt.grad, "grad_h0": ht.grad}
    if layer_name == "LSTM":
        result["c_n"], result["grad_c0"] = c_n.data, ct.grad
    for name, param in layer.named_parameters():
        result[f"grad_{name}"] = param.grad
    result["grad_params"] = np.concatenate([param.grad.ravel() for param in layer.parameters()])
    return result


def check_case(expected: dict, actual: dict, label: str) -> None:
    for key, value in expected.items():
        assert actual[key] is not None, f"{label}: {key} missing"
        np.testing.assert_allclose(actual[key], value, rtol=0, atol=TOL, err_msg=f"{label}: {key}")


# ----- golden fixtures (no PyTorch needed) ---------------------------------------------------
def _fixture_cases():
    try:
        from conftest import load_fixture
        data = load_fixture("rnn")
    except FileNotFoundError:
        return {}, []
    names = sorted({key.split("/")[0] for key in data if not key.startswith("cell-")})
    return data, names


FIXTURE_DATA, FIXTURE_NAMES = _fixture_cases()


@pytest.mark.parametrize("case", FIXTURE_NAMES)
def test_fixture_parity(case):
    arrays = {key.split("/", 1)[1]: value for key, value in FIXTURE_DATA.items()
              if key.split("/")[0] == case}
    kind, num_layers, bidirectional, with_lengths = case.split("-")
    options = {"hidden_size": arrays["h0"].shape[-1], "num_layers": int(num_layers[1:]),
               "bidirectional": bidirectional == "bi"}
    state = arrays["params"]
    expected = {key[len("expected."):]: value for key, value in arrays.items()
                if key.startswith("expected.")}
    lengths = arrays["lengths"] if with_lengths == "len" else None
    actual = run_annie(kind, options, state, arrays["x"], arrays["h0"], arrays.get("c0"), lengths,
                       arrays["grad_out"], arrays["grad_h"], arrays.get("grad_c"))
    check_case(expected, actual, case)


def test_fixtures_exist():
    expected = sorted(gen_rnn.case_name(*config) for config in gen_rnn.configs())
    assert FIXTURE_NAMES == expected, "tests/fixtures/rnn.npz is missing or out of date"


CELL_CLASSES = {"rnn_tanh": ("RNNCell", {"nonlinearity": "tanh"}),
                "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
                "lstm": ("LSTMCell", {}), "gru": ("GRUCell", {})}


def run_annie_cell(kind, arrays):
    """One step of annie's cell with the fixture's weights, inputs and upstream gradients."""
    name, extra = CELL_CLASSES[kind]
    state = {key[len("param."):]: value for key, value in arrays.items()
             if key.startswith("param.")}
    cell = getattr(nn, name)(arrays["x"].shape[1], arrays["h"].shape[1], dtype=np.float64, **extra)
    cell.load_state_dict(state)
    x = annie.tensor(arrays["x"], requires_grad=True)
    h = annie.tensor(arrays["h"], requires_grad=True)
    result = {}
    if name == "LSTMCell":
        c = annie.tensor(arrays["c"], requires_grad=True)
        h_next, c_next = cell(x, (h, c))
        ((h_next * arrays["grad_h"]).sum() + (c_next * arrays["grad_c"]).sum()).backward()
        result["c_next"], result["grad_c"] = c_next.data, c.grad
    else:
        h_next = cell(x, h)
        (h_next * arrays["grad_h"]).sum().backward()
    result.update(h_next=h_next.data, grad_x=x.grad, grad_h=h.grad)
    for pname, param in cell.named_parameters():
        result[f"grad_{pname}"] = param.grad
    return result


@pytest.mark.parametrize("kind", list(CELL_CLASSES))
def test_fixture_cell_parity(kind):
    prefix = f"cell-{kind}/"
    arrays = {key[len(prefix):]: value for key, value in FIXTURE_DATA.items()
              if key.startswith(prefix)}
    assert arrays, f"tests/fixtures/rnn.npz has no {prefix} arrays"
    expected = {key[len("expected."):]: value for key, value in arrays.items()
                if key.startswith("expected.")}
    check_case(expected, run_annie_cell(kind, arrays), f"cell {kind}")


# ----- live parity ---------------------------------------------------------------------------
CONFIGS = [(kind, layers, bi, with_lengths) for kind in LAYERS for layers in (1, 2)
           for bi in (False, True) for with_lengths in (False, True)]


@pytest.mark.parametrize("seed,config", list(enumerate(CONFIGS)))
def test_live_parity(seed, config):
    torch = pytest.importorskip("torch")
    kind, num_layers, bidirectional, with_lengths = config
    case = gen_rnn.torch_case(torch, kind, num_layers, bidirectional, with_lengths, seed=100 + seed)
    options = {"hidden_size": case["h0"].shape[-1], "num_layers": num_layers,
               "bidirectional": bidirectional}
    actual = run_annie(kind, options, case["state"], case["x"], case["h0"], case.get("c0"),
                       case["lengths"], case["grad_out"], case["grad_h"], case.get("grad_c"))
    check_case(case["expected"], actual, f"{kind} layers={num_layers} bi={bidirectional}")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_live_parity_time_major(kind):
    """batch_first=False takes (time, batch, features) as PyTorch's default does."""
    torch = pytest.importorskip("torch")
    case = gen_rnn.torch_case(torch, kind, 2, True, True, seed=7)
    options = {"hidden_size": case["h0"].shape[-1], "num_layers": 2, "bidirectional": True}
    x = case["x"].transpose(1, 0, 2)
    grad_out = case["grad_out"].transpose(1, 0, 2)
    actual = run_annie(kind, options, case["state"], x, case["h0"], case.get("c0"), case["lengths"],
                       grad_out, case["grad_h"], case.get("grad_c"), batch_first=False)
    actual["output"] = actual["output"].transpose(1, 0, 2)
    actual["grad_x"] = actual["grad_x"].transpose(1, 0, 2)
    check_case(case["expected"], actual, f"{kind} time-major")


@pytest.mark.parametrize("seed,kind", list(enumerate(CELL_CLASSES)))
def test_live_cell_parity(seed, kind):
    torch = pytest.importorskip("torch")
    case = gen_rnn.torch_cell_case(torch, kind, seed=200 + seed)
    arrays = {key: value for key, value in case.items() if key not in ("state", "expected")}
    arrays.update({f"param.{key}": value for key, value in case["state"].items()})
    check_case(case["expected"], run_annie_cell(kind, arrays), f"cell {kind}")
