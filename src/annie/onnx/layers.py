"""Converters of the feedforward layers: Sequential, Linear, every activation, Dropout (the
identity in evaluation), LayerNorm, Flatten, Embedding and Normalization.

Each writes annie's formula with ONNX operators (opset 17), e.g. Linear y = x W^T + b as
Gemm(x, W, b, transB=1), GELU x Phi(x) as x * 0.5 * (1 + Erf(x / sqrt 2)).
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..functional.activations import SELU_ALPHA, SELU_SCALE
from .graph import Graph, Value
from .registry import convert, register_converter, run_annie


def _one(graph: Graph, module, inputs: list, name: str, build) -> list:
    """A converter body for a layer with one input and one output: ``build(x_name)`` adds the
    nodes and returns the output name; the example comes from annie."""
    x = inputs[0]
    return [Value(build(x.name), run_annie(module, x.example))]


@register_converter(nn.Sequential)
def sequential(graph: Graph, module: nn.Sequential, inputs: list, name: str) -> list:
    """Each layer's output is the next one's input."""
    values = inputs
    for index, layer in enumerate(module):
        values = convert(graph, layer, values, f"{name}.{index}")
    return values


@register_converter(nn.Linear)
def linear(graph: Graph, module: nn.Linear, inputs: list, name: str) -> list:
    """y = x W^T + b: Gemm for (batch, in) inputs, MatMul then Add for more axes."""
    def build(x: str) -> str:
        bias = graph.weight(module.bias.data, f"{name}.bias") if module.bias is not None else None
        if inputs[0].example.ndim == 2:
            weight = graph.weight(module.weight.data, f"{name}.weight")
            return graph.op("Gemm", [x, weight] + ([bias] if bias else []), name, transB=1)
        weight_t = graph.weight(module.weight.data.T, f"{name}.weight_t")
        product = graph.op("MatMul", [x, weight_t], f"{name}.matmul")
        return graph.op("Add", [product, bias], name) if bias else product
    return _one(graph, module, inputs, name, build)


# ----- activations ---------------------------------------------------------------------------
_SAME_OP = {nn.Identity: "Identity", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh", nn.ReLU: "Relu",
            nn.Softsign: "Softsign", nn.Dropout: "Identity"}  # Dropout: exported in eval mode


@register_converter(*_SAME_OP)
def same_op(graph: Graph, module, inputs: list, name: str) -> list:
    """Activations ONNX has under another name, and Dropout (the identity in evaluation)."""
    return _one(graph, module, inputs, name,
                lambda x: graph.op(_SAME_OP[type(module)], [x], name))


@register_converter(nn.LeakyReLU)
def leaky_relu(graph: Graph, module, inputs: list, name: str) -> list:
    """x if x > 0 else negative_slope * x."""
    return _one(graph, module, inputs, name,
                lambda x: graph.op("LeakyRelu", [x], name, alpha=module.negative_slope))


@register_converter(nn.ELU)
def elu(graph: Graph, module, inputs: list, name: str) -> list:
    """x if x > 0 else alpha (e^x - 1)."""
    return _one(graph, module, inputs, name, lambda x: graph.op("Elu", [x], name,
                                                                alpha=module.alpha))


@register_converter(nn.SELU)
def selu(graph: Graph, module, inputs: list, name: str) -> list:
    """scale * elu(x, alpha) with annie's constants."""
    return _one(graph, module, inputs, name,
                lambda x: graph.op("Selu", [x], name, alpha=SELU_ALPHA, gamma=SELU_SCALE))


@register_converter(nn.GELU)
def gelu(graph: Graph, module, inputs: list, name: str) -> list:
    """x Phi(x) = x * 0.5 * (1 + erf(x / sqrt 2)) (the exact form)."""
    def build(x: str) -> str:
        scaled = graph.op("Mul", [x, graph.scalar(1 / math.sqrt(2))], f"{name}.scaled")
        erf = graph.op("Erf", [scaled], f"{name}.erf")
        cdf = graph.op("Mul", [graph.op("Add", [erf, graph.scalar(1.0)], f"{name}.one_plus"),
                               graph.scalar(0.5)], f"{name}.cdf")
        return graph.op("Mul", [x, cdf], name)
    return _one(graph, module, inputs, name, build)


@register_converter(nn.SiLU)
def silu(graph: Graph, module, inputs: list, name: str) -> list:
    """x sigma(x)."""
    return _one(graph, module, inputs, name, lambda x: graph.op(
        "Mul", [x, graph.op("Sigmoid", [x], f"{name}.sigmoid")], name))


@register_converter(nn.Softplus)
def softplus(graph: Graph, module, inputs: list, name: str) -> list:
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold."""
    def build(x: str) -> str:
        scaled = x if module.beta == 1 else graph.op("Mul", [x, graph.scalar(module.beta)],
                                                     f"{name}.scaled")
        smooth = graph.op("Softplus", [scaled], f"{name}.smooth")
        if module.beta != 1:
            smooth = graph.op("Div", [smooth, graph.scalar(module.beta)], f"{name}.unscaled")
        linear_part = graph.op("Greater", [scaled, graph.scalar(module.threshold)],
                               f"{name}.linear")
        return graph.op("Where", [linear_part, x, smooth], name)
    return _one(graph, module, inputs, name, build)


@register_converter(nn.Hardsigmoid)
def hard_sigmoid(graph: Graph, module, inputs: list, name: str) -> list:
    """relu6(x + 3) / 6 = max(0, min(1, x / 6 + 1/2))."""
    return _one(graph, module, inputs, name,
                lambda x: graph.op("HardSigmoid", [x], name, alpha=1 / 6, beta=0.5))


@register_converter(nn.Softmax, nn.LogSoftmax)
def softmax(graph: Graph, module, inputs: list, name: str) -> list:
    """Softmax or log-softmax along ``dim``."""
    op_type = "Softmax" if type(module) is nn.Softmax else "LogSoftmax"
    return _one(graph, module, inputs, name, lambda x: graph.op(op_type, [x], name,
                                                                axis=module.dim))


# ----- shapes, lookups and normalization -------------------------------------------------------
@register_converter(nn.LayerNorm)
def layer_norm(graph: Graph, module: nn.LayerNorm, inputs: list, name: str) -> list:
    """(x - mu) / sqrt(var + eps) * weight + bias over the trailing normalized axes."""
    def build(x: str) -> str:
        shape = module.normalized_shape
        weight = module.weight.data if module.weight is not None else np.ones(shape)
        bias = module.bias.data if module.bias is not None else np.zeros(shape)
        return graph.op("LayerNormalization",
                        [x, graph.weight(weight, f"{name}.weight"),
                         graph.weight(bias, f"{name}.bias")],
                        name, axis=-len(shape), epsilon=module.eps)
    return _one(graph, module, inputs, name, build)


@register_converter(nn.Flatten)
def flatten(graph: Graph, module: nn.Flatten, inputs: list, name: str) -> list:
    """Merge axes start_dim..end_dim: a Reshape that copies the leading axes (0), merges the
    range (-1) and keeps the trailing axes' sizes."""
    def build(x: str) -> str:
        shape = inputs[0].example.shape
        ndim = max(len(shape), 1)
        start = module.start_dim % ndim
        end = module.end_dim % ndim
        target = [0] * start + [-1] + list(shape[end + 1:])
        return graph.op("Reshape", [x, graph.ints(target, f"{name}.shape")], name)
    return _one(graph, module, inputs, name, build)


@register_converter(nn.Embedding)
def embedding(graph: Graph, module: nn.Embedding, inputs: list, name: str) -> list:
    """y = weight[indices] (Gather along the table's rows)."""
    return _one(graph, module, inputs, name, lambda x: graph.op(
        "Gather", [graph.weight(module.weight.data, f"{name}.weight"), x], name, axis=0))


def _normalization(graph: Graph, module, inputs: list, name: str) -> list:
    """y = (x - mean) / std per feature, or x * std + mean when ``invert``."""
    def build(x: str) -> str:
        mean = graph.weight(module.mean, f"{name}.mean")
        std = graph.weight(module.std, f"{name}.std")
        if getattr(module, "invert", False):
            scaled = graph.op("Mul", [x, std], f"{name}.scaled")
            return graph.op("Add", [scaled, mean], name)
        centered = graph.op("Sub", [x, mean], f"{name}.centered")
        return graph.op("Div", [centered, std], name)
    return _one(graph, module, inputs, name, build)


if hasattr(nn, "Normalization"):  # the preprocessing layer (mean and std buffers)
    register_converter(nn.Normalization)(_normalization)
