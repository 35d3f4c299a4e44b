"""Recurrent networks: the whole-sequence kernels (RNN, LSTM, GRU; one differentiable op per
layer and direction, backpropagation through time written by hand) and the per-step seam they
are tested against (each cell's formula on differentiable ops, and ``unroll``)."""
from .cells import gru_cell, lstm_cell, rnn_cell, unroll, watched_state
from .gru import gru
from .lstm import lstm
from .rnn import rnn

__all__ = ["rnn", "lstm", "gru", "rnn_cell", "lstm_cell", "gru_cell", "unroll", "watched_state"]
