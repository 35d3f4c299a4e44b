"""Layers and models: ``Module``, ``Parameter``, ``Linear``, ``Sequential`` and the rest."""
from .activation import (ELU, GELU, SELU, HardSigmoid, Hardsigmoid, Identity, LeakyReLU,
                         LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Softsign, Swish, Tanh,
                         activation_module)
from .container import ModuleList, Sequential
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .linear import Linear
from .module import Module, Parameter
from .normalization import LayerNorm
from .preprocessing import Normalization
from . import utils  # annie.nn.utils: clip_grad_norm_, clip_grad_value_

__all__ = ["Module", "Parameter", "Linear", "Sequential", "ModuleList"]
__all__ += ["Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU",
            "Swish", "Softplus", "Softsign", "Hardsigmoid", "HardSigmoid", "Softmax", "LogSoftmax",
            "activation_module", "Dropout", "Embedding", "LayerNorm", "Flatten", "Normalization"]
from .rnn import GRU, LSTM, RNN
from .rnn_cells import GRUCell, LSTMCell, RNNCell

__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
from .sequence_models import (CharLanguageModel, Seq2Seq, SequenceClassifier, SequenceEncoder,
                              SequenceRegressor, SequenceTagger, sequence_cross_entropy)

__all__ += ["SequenceEncoder", "SequenceClassifier", "SequenceRegressor", "SequenceTagger",
            "Seq2Seq", "CharLanguageModel", "sequence_cross_entropy"]
from .captioning import (ImageCaptioner, PairedImageCaptioner, character_error_rate,
                         edit_distance)

__all__ += ["ImageCaptioner", "PairedImageCaptioner", "edit_distance", "character_error_rate"]
