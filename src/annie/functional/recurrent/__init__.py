"""Whole-sequence recurrent kernels (RNN, LSTM, GRU): one differentiable op per layer and
direction, with backpropagation through time written by hand."""
from .gru import gru
from .lstm import lstm
from .rnn import rnn

__all__ = ["rnn", "lstm", "gru"]
