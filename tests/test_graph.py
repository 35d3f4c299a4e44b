"""draw_graph: the computational graph behind a tensor, with values and gradients (DOT text),
rendered by Graphviz where it is installed (always in CI)."""
import os
import re
import shutil

import numpy as np
import pytest

import annie
from annie import functional, nn
from annie.diagnostics import draw_graph, graph_dot, render_dot
from annie.errors import ConfigError, ShapeError


def node_labels(dot: str) -> dict[str, str]:
    """The name field -> the whole label of every tensor node."""
    labels = {}
    for label in re.findall(r'shape=record, label="([^"]*)"', dot):
        labels.setdefault(label.split(" | ")[0], label)
    return labels


def field(label: str, what: str) -> np.ndarray:
    """The numbers of the ``what`` field (data or grad) of a label."""
    text = next(part for part in label.split(" | ") if part.startswith(what + " "))
    return np.array([float(v) for v in re.findall(r"-?[0-9.]+(?:e-?[0-9]+)?",
                                                      text[len(what):])])


def small_network():
    """loss = sum(tanh(W x + b)^2) with named tensors."""
    W = annie.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    b = annie.tensor(np.array([0.1, -0.2]), requires_grad=True)
    x = annie.tensor(np.array([1.0, 2.0]))
    pre = functional.linear(x, W, b)
    hidden = functional.tanh(pre)
    loss = (hidden * hidden).sum()
    return loss, {"W": W, "b": b, "x": x, "pre": pre, "hidden": hidden, "loss": loss}


def test_every_op_and_tensor_is_a_node_with_its_edges():
    loss, names = small_network()
    dot = graph_dot(loss, names=names)
    assert dot.startswith("digraph annie {") and dot.rstrip().endswith("}")
    ops = re.findall(r'(op\d+) \[shape=oval.*label="(\w+)"\]', dot)
    assert sorted(kind for _, kind in ops) == ["LinearFunction", "Mul", "Sum", "Tanh"]
    labels = node_labels(dot)
    assert set(labels) == {"W (leaf)", "b (leaf)", "x (input)", "pre (tensor)", "hidden (tensor)",
                           "loss (tensor)", "tensor"}
    # hidden feeds Mul twice (h * h): two edges into one op
    edges = re.findall(r"(t\d+) -> (op\d+);", dot)
    assert len(edges) == 3 + 1 + 2 + 1
    np.testing.assert_allclose(field(labels["W (leaf)"], "data"), [0.5, -1.0, 2.0, 0.25])
    assert "grad" not in labels["x (input)"]


def test_backward_records_every_gradient_and_they_are_the_chain_rule():
    loss, names = small_network()
    dot = draw_graph(loss, backward=True, names=names)
    labels = node_labels(dot)
    W, b, x = names["W"].data, names["b"].data, names["x"].data
    hidden = np.tanh(W @ x + b)
    d_hidden = 2 * hidden                       # d(sum h^2)/dh
    d_pre = d_hidden * (1 - hidden ** 2)        # tanh' = 1 - tanh^2
    np.testing.assert_allclose(field(labels["loss (tensor)"], "grad"), [1.0])
    np.testing.assert_allclose(field(labels["hidden (tensor)"], "grad"), d_hidden, rtol=1e-3)
    np.testing.assert_allclose(field(labels["pre (tensor)"], "grad"), d_pre, rtol=1e-3)
    np.testing.assert_allclose(field(labels["b (leaf)"], "grad"), d_pre, rtol=1e-3)
    np.testing.assert_allclose(names["W"].grad, np.outer(d_pre, x), rtol=1e-12)


def test_backward_true_accumulates_like_backward_and_without_it_leaves_show_their_grad():
    loss, names = small_network()
    draw_graph(loss, backward=True)
    reference, reference_names = small_network()
    reference.backward()
    np.testing.assert_array_equal(names["W"].grad, reference_names["W"].grad)
    dot = graph_dot(reference, names=reference_names)
    labels = node_labels(dot)
    np.testing.assert_allclose(field(labels["W (leaf)"], "grad"),
                               reference_names["W"].grad.ravel(), rtol=1e-3)
    assert "grad" not in labels["pre (tensor)"]
    assert "backward=True" in dot  # says how to see the intermediate gradients


def test_large_tensors_are_summarised_and_module_names_are_used():
    annie.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 1))
    loss = model(np.ones((4, 5), np.float32)).sum()
    dot = draw_graph(loss, backward=True, names=model, max_values=4)
    labels = node_labels(dot)
    weight = model[0].weight
    assert set(labels) >= {"0.weight (leaf)", "0.bias (leaf)", "2.weight (leaf)"}
    mean, std = field(labels["0.weight (leaf)"], "data")
    assert mean == pytest.approx(float(weight.data.mean()), rel=1e-3, abs=1e-4)
    assert std == pytest.approx(float(weight.data.std()), rel=1e-3)
    assert field(labels["0.weight (leaf)"], "grad")[0] == pytest.approx(
        float(np.linalg.norm(weight.grad)), rel=1e-3)


def test_a_leaf_alone_and_special_characters_are_escaped():
    leaf = annie.tensor(np.array([1.0]), requires_grad=True)
    leaf.name = 'a{b}|"c"'
    dot = graph_dot(leaf)
    assert r'a\{b\}\|\"c\"' in dot and "->" not in dot


def test_bad_arguments():
    loss, _ = small_network()
    with pytest.raises(ShapeError, match="one value"):
        draw_graph(functional.tanh(annie.tensor(np.ones(3), requires_grad=True)), backward=True)
    with pytest.raises(ConfigError, match=r"suffix must be one of \.dot, \.gv, \.svg"):
        draw_graph(loss, "graph.jpg")
    with pytest.raises(ConfigError, match="rankdir"):
        draw_graph(loss, rankdir="up")
    with pytest.raises(ConfigError, match="Tensor"):
        draw_graph(np.ones(2))
    for bad in (-1, 2.5, None):
        with pytest.raises(ConfigError, match="max_values must be a non-negative integer"):
            draw_graph(loss, max_values=bad)


def test_dot_file_is_written(tmp_path):
    loss, names = small_network()
    text = draw_graph(loss, tmp_path / "graph.dot", backward=True, names=names)
    assert (tmp_path / "graph.dot").read_text() == text


def graphviz_or_skip():
    """Skip when the Graphviz program is missing, except in CI (.ci/run installs it)."""
    if shutil.which("dot") is None:
        if os.environ.get("ANNIE_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail("the Graphviz program 'dot' is missing although CI installs it")
        pytest.skip("the Graphviz program 'dot' is not installed (apt-get install graphviz)")
    pytest.importorskip("graphviz", reason="pip install 'annie[graph]'")


@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"),
                                           ("pdf", b"%PDF")])
def test_rendered_by_graphviz(tmp_path, suffix, magic):
    graphviz_or_skip()
    loss, names = small_network()
    path = tmp_path / f"graph.{suffix}"
    draw_graph(loss, path, backward=True, names=names)
    content = path.read_bytes()
    assert content.startswith(magic)
    if suffix == "svg":
        text = content.decode()
        assert "hidden (tensor)" in text and "LinearFunction" in text


def test_render_without_the_program_names_the_fix(monkeypatch):
    graphviz = pytest.importorskip("graphviz", reason="pip install 'annie[graph]'")

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Source, "pipe", missing)
    with pytest.raises(ConfigError, match="Graphviz program 'dot'"):
        render_dot("digraph {}", "svg")


def test_a_number_given_to_an_op_is_counted_on_the_op():
    x = annie.tensor(np.array([1.0, 2.0]), requires_grad=True)
    dot = draw_graph((x * 0.5).sum(), backward=True, names={"x": x})
    assert 'label="Mul\\n(+1 non-tensor input)"' in dot
    np.testing.assert_allclose(field(node_labels(dot)["x (leaf)"], "grad"), [0.5, 0.5])
