"""Differentiable functions built on the ops: linear, activations, softmax family, dropout,
and fused whole-sequence recurrent kernels."""
from .activations import (activation_names, elu, gelu, get_activation, hard_sigmoid,
                          hardsigmoid, identity, leaky_relu, relu, selu, sigmoid, silu, softplus,
                          softsign, swish, tanh)
from .dropout import dropout
from .embedding import embedding
from .erf import erf, erfc
from .linear import linear
from .normalization import layer_norm
from .softmax import log_softmax, softmax

__all__ = ["linear"]
__all__ += ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu",
            "swish", "softplus", "softsign", "hard_sigmoid", "hardsigmoid", "softmax",
            "log_softmax", "get_activation", "activation_names", "dropout", "embedding",
            "layer_norm", "erf", "erfc"]
from .recurrent import gru, lstm, rnn

__all__ += ["rnn", "lstm", "gru"]
