"""Ready-made recurrent models for the four RNN types of the lecture.

- many-to-one: ``SequenceClassifier`` (a label per sequence), ``SequenceRegressor`` (the next
  value of a series; ``forecast`` continues a series by feeding predictions back);
- many-to-many aligned: ``SequenceTagger`` (a label per step);
- many-to-many encoder-decoder: ``Seq2Seq`` (teacher forcing in ``forward``, greedy ``decode``),
  and ``PairedSeq2Seq``, the same model reading (source, target) pairs as one array for ``fit``;
- generation from a seed: ``CharLanguageModel`` (``generate(seed, length, temperature)``);
  it reads its seed before it writes, so strictly it is many-to-many run one step at a time.
  The lecture's one-to-many (a static input -> a sequence) is ``ImageCaptioner``
  (``annie.nn.captioning``).

Every constructor takes plain numbers and strings (``cell="lstm" | "gru" | "rnn"``, the plain
RNN's ``nonlinearity="tanh" | "relu"``, ``recurrent_init`` as ``nn.RNN`` takes it), so a model is
built from a dict of options, ``SequenceClassifier(**options)``, and ``annie.save`` /
``annie.load`` rebuild it: an IRNN (``cell="rnn", nonlinearity="relu",
recurrent_init="identity"``) loads back as the ReLU RNN it is. Inputs are batch first:
(batch, time, features) floats, or (batch, time) integer tokens when ``vocab_size`` is given.
"""
from __future__ import annotations

import numpy as np

from ..backend import rng
from ..errors import (ConfigError, DataError, DTypeError, ShapeError, check_non_negative_int,
                      check_positive_int, finite_number)
from ..losses import cross_entropy
from ..ops import concat, getitem, squeeze, swapaxes, unsqueeze
from ..tensor import Tensor
from .embedding import Embedding
from .linear import Linear
from .module import Module
from .rnn import GRU, LSTM, RNN

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def recurrent_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    dropout: float = 0.0, bidirectional: bool = False,
                    nonlinearity: str = "tanh", recurrent_init: str = "uniform") -> Module:
    """The sequence layer named by ``cell`` ("lstm", "gru" or "rnn"), batch first.

    ``nonlinearity`` ("tanh" or "relu") is the plain RNN's (an LSTM's or GRU's gates have
    their own, so "relu" with them is a ConfigError); ``recurrent_init`` ("uniform",
    "orthogonal" or "identity") as ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take it."""
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    options = {"recurrent_init": recurrent_init}
    if cell == "rnn":
        options["nonlinearity"] = nonlinearity
    elif nonlinearity != "tanh":
        raise ConfigError(f"nonlinearity={nonlinearity!r} is the plain RNN's (cell='rnn'); "
                          f"cell={cell!r} has its own gate functions, so leave it 'tanh'")
    return CELLS[cell](input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                       bidirectional=bidirectional, **options)


def last_hidden(h_n, bidirectional: bool) -> Tensor:
    """The last layer's final hidden state (batch, hidden * directions) from a layer's h_n
    (an LSTM's (h_n, c_n) gives h_n); both directions side by side when bidirectional."""
    h_n = h_n[0] if isinstance(h_n, tuple) else h_n
    if not bidirectional:
        return getitem(h_n, -1)
    return concat([getitem(h_n, -2), getitem(h_n, -1)], axis=-1)


def sequence_cross_entropy(logits, target, ignore_index: int = -100) -> Tensor:
    """Mean cross-entropy over every step of (batch, time, classes) logits and (batch, time)
    labels; steps labelled ``ignore_index`` (padding) count for nothing."""
    if not isinstance(logits, Tensor):
        logits = Tensor(np.asarray(logits))
    if logits.ndim != 3:
        raise ShapeError(f"sequence_cross_entropy: logits must be (batch, time, classes), "
                         f"got shape {tuple(logits.shape)}")
    return cross_entropy(swapaxes(logits, 1, 2), target, ignore_index=ignore_index)


def token_ids(x, owner: str) -> np.ndarray:
    """The integer token ids in x (``annie.fit`` keeps integer X for models that start with an
    Embedding); any other dtype is a DTypeError."""
    ids = np.asarray(x.data if isinstance(x, Tensor) else x)
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{owner}: token ids must be integers, got dtype {ids.dtype}")
    return ids


class SequenceEncoder(Module):
    """Embedding (for integer tokens) or raw features, then a recurrent layer; returns
    (output (batch, time, hidden * directions), h_n). ``lengths`` default: the count of
    non-``padding_idx`` tokens of each row when padding_idx is set (right padding)."""

    def __init__(self, input_size: int | None = None, hidden_size: int = 64,
                 vocab_size: int | None = None, embedding_dim: int = 32,
                 padding_idx: int | None = None, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform"):
        super().__init__()
        if (input_size is None) == (vocab_size is None):
            raise ConfigError(f"{type(self).__name__}: give exactly one of input_size (float "
                              f"features) or vocab_size (integer tokens), got input_size="
                              f"{input_size!r}, vocab_size={vocab_size!r}")
        self.cell, self.bidirectional, self.padding_idx = cell, bool(bidirectional), padding_idx
        self.embedding = (Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
                          if vocab_size is not None else None)
        features = embedding_dim if vocab_size is not None else input_size
        self.input_size = features
        self.rnn = recurrent_layer(cell, features, hidden_size, num_layers, dropout, bidirectional,
                                   nonlinearity, recurrent_init)
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def lengths_of(self, x, lengths):
        """``lengths`` as given, else counted from the padding tokens (None if no padding)."""
        if lengths is not None or self.embedding is None or self.padding_idx is None:
            return lengths
        tokens = token_ids(x, type(self).__name__)
        counted = (tokens != self.padding_idx).sum(axis=1)
        if counted.size and counted.min() < 1:
            raise DataError(f"{type(self).__name__}: a sequence holds only padding "
                            f"(padding_idx={self.padding_idx}); every sequence needs a token")
        return counted

    def features(self, x) -> Tensor:
        """(batch, time, input_size) floats: embedded tokens, or x itself ((batch, time) gets a
        feature axis when input_size is 1)."""
        if self.embedding is not None:
            return self.embedding(token_ids(x, type(self).__name__))
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        if x.ndim == 2 and self.input_size == 1:
            x = unsqueeze(x, -1)
        return x

    def forward(self, x, lengths=None, state=None):
        """(output, h_n) of the recurrent layer over the whole (padded) batch."""
        return self.rnn(self.features(x), state, lengths=self.lengths_of(x, lengths))


class SequenceClassifier(Module):
    """Many-to-one: logits (batch, num_classes) = W h_T + b from the last real step's state
    (both directions' final states when bidirectional)."""

    def __init__(self, input_size: int | None = None, hidden_size: int = 64,
                 num_classes: int = 2, vocab_size: int | None = None, embedding_dim: int = 32,
                 padding_idx: int | None = None, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform"):
        super().__init__()
        self.encoder = SequenceEncoder(input_size, hidden_size, vocab_size, embedding_dim,
                                       padding_idx, cell, num_layers, bidirectional, dropout,
                                       nonlinearity, recurrent_init)
        self.head = Linear(self.encoder.output_size, num_classes)

    def forward(self, x, lengths=None) -> Tensor:
        """Class logits for x: (batch, time, input_size) floats or (batch, time) tokens."""
        _, h_n = self.encoder(x, lengths)
        return self.head(last_hidden(h_n, self.encoder.bidirectional))


class SequenceRegressor(Module):
    """Many-to-one forecaster: y_hat = loc + scale * (W h_T + b), h_T the last state after
    reading the window standardised as (x - loc) / scale; the next ``output_size`` values after
    a window, output (batch,) when output_size is 1 (as ``make_windows`` gives y).

    ``loc`` (a finite number, default 0.0) and ``scale`` (a positive finite number, default
    1.0) are the series' own level and unit, e.g. the training part's mean and standard
    deviation: the model reads windows in the series' units, standardises them (so the
    recurrent layer sees values of order one around zero, where its tanh and sigmoid gates are
    not saturated, whatever the series' level: prices, loads, temperatures in kelvin) and maps
    its forecast back with ``loc + scale * ...``, so it answers in the same units. Being
    constructor arguments they are saved with the architecture (a model saved before ``loc``
    existed loads with loc 0): ``annie.load`` gives a model that takes the raw series, and
    ``forecast`` feeds its raw predictions back as inputs. Two numbers rather than a
    ``nn.Normalization`` pair, because the input and the forecast are the same quantity
    (forecasting feeds one into the other). All features share them: standardise features of
    different units before the model. ConfigError for a loc that is not a finite number or a
    scale that is not a positive finite number."""

    def __init__(self, input_size: int = 1, hidden_size: int = 32, output_size: int = 1,
                 cell: str = "lstm", num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform", scale: float = 1.0, loc: float = 0.0):
        super().__init__()
        self.output_size = int(output_size)
        self.scale = finite_number("SequenceRegressor", "scale", scale, positive=True)
        self.loc = finite_number("SequenceRegressor", "loc", loc)
        self.encoder = SequenceEncoder(input_size, hidden_size, None, 32, None, cell,
                                       num_layers, bidirectional, dropout, nonlinearity,
                                       recurrent_init)
        self.head = Linear(self.encoder.output_size, self.output_size)

    def forward(self, x, lengths=None) -> Tensor:
        """Forecast, in the units of x, for windows x of shape (batch, time, input_size) or
        (batch, time)."""
        if self.loc != 0.0 or self.scale != 1.0:
            x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        if self.loc != 0.0:
            x = x - self.loc
        if self.scale != 1.0:
            x = x / self.scale
        _, h_n = self.encoder(x, lengths)
        prediction = self.head(last_hidden(h_n, self.encoder.bidirectional))
        if self.scale != 1.0:
            prediction = prediction * self.scale
        if self.loc != 0.0:
            prediction = prediction + self.loc
        return squeeze(prediction, -1) if self.output_size == 1 else prediction

    def forecast(self, window, steps: int) -> np.ndarray:
        """Generation from a seed: continue a series ``steps`` values past ``window`` (time,)
        or (time, features), feeding each prediction back as the newest input and dropping the
        oldest."""
        if self.encoder.input_size != self.output_size:
            raise ConfigError(f"SequenceRegressor.forecast feeds each prediction back as the "
                              f"next input, so it needs output_size == input_size, got "
                              f"{self.output_size} and {self.encoder.input_size}; a model that "
                              f"predicts {self.output_size} values at once gives them with "
                              f"model(window) (window of shape (1, time, "
                              f"{self.encoder.input_size}))")
        current = np.asarray(window.data if isinstance(window, Tensor) else window)
        if current.ndim == 0 or len(current) == 0:
            raise ShapeError(f"SequenceRegressor.forecast: window must hold at least one time "
                             f"step, got shape {current.shape}")
        current = current.reshape(len(current), self.encoder.input_size)
        dtype = self.head.weight.dtype
        current = current.astype(dtype)
        predictions = []
        with self.evaluating():
            for _ in range(int(steps)):
                value = self(Tensor(current[None])).data.reshape(1, -1).astype(dtype)
                predictions.append(value[0])
                current = np.concatenate([current[1:], value], axis=0)
        result = np.stack(predictions) if predictions else np.zeros((0, self.output_size), dtype)
        return result[:, 0] if self.output_size == 1 else result


class SequenceTagger(Module):
    """Many-to-many aligned: logits (batch, time, num_tags), one label per step,
    y_t = W h_t + b (h_t of both directions when bidirectional). Train with
    ``sequence_cross_entropy`` and label padded steps with its ignore_index."""

    def __init__(self, input_size: int | None = None, hidden_size: int = 64, num_tags: int = 2,
                 vocab_size: int | None = None, embedding_dim: int = 32,
                 padding_idx: int | None = None, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.0, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform"):
        super().__init__()
        self.encoder = SequenceEncoder(input_size, hidden_size, vocab_size, embedding_dim,
                                       padding_idx, cell, num_layers, bidirectional, dropout,
                                       nonlinearity, recurrent_init)
        self.head = Linear(self.encoder.output_size, num_tags)

    def forward(self, x, lengths=None) -> Tensor:
        """Per-step tag logits (batch, time, num_tags) (padded steps see zero states)."""
        output, _ = self.encoder(x, lengths)
        return self.head(output)


class Seq2Seq(Module):
    """Encoder-decoder: the encoder's final state starts the decoder, which reads the target
    shifted right (teacher forcing: y_{t-1} in, y_t out, y_0 = ``bos_index``) and predicts
    logits (batch, target_time, target_vocab_size) = W s_t + b."""

    def __init__(self, source_vocab_size: int, target_vocab_size: int, hidden_size: int = 128,
                 embedding_dim: int = 32, cell: str = "gru", num_layers: int = 1,
                 bos_index: int = 0, source_padding_idx: int | None = None,
                 nonlinearity: str = "tanh", recurrent_init: str = "uniform"):
        super().__init__()
        if not 0 <= bos_index < target_vocab_size:
            raise ConfigError(f"Seq2Seq: bos_index {bos_index} is outside the target "
                              f"vocabulary of {target_vocab_size}")
        self.bos_index = int(bos_index)
        self.encoder = SequenceEncoder(None, hidden_size, source_vocab_size, embedding_dim,
                                       source_padding_idx, cell, num_layers,
                                       nonlinearity=nonlinearity, recurrent_init=recurrent_init)
        self.target_embedding = Embedding(target_vocab_size, embedding_dim)
        self.decoder = recurrent_layer(cell, embedding_dim, hidden_size, num_layers,
                                       nonlinearity=nonlinearity, recurrent_init=recurrent_init)
        self.head = Linear(hidden_size, target_vocab_size)

    def shift_right(self, target) -> np.ndarray:
        """The decoder's teacher-forcing input: [bos, y_0, ..., y_{T-2}] for each row."""
        target = np.asarray(target.data if isinstance(target, Tensor) else target)
        bos = np.full((target.shape[0], 1), self.bos_index, dtype=target.dtype)
        return np.concatenate([bos, target[:, :-1]], axis=1)

    def forward(self, source, target, source_lengths=None) -> Tensor:
        """Teacher-forced logits for ``target`` (batch, T) given ``source`` (batch, S) tokens."""
        _, state = self.encoder(source, source_lengths)
        output, _ = self.decoder(self.target_embedding(self.shift_right(target)), state)
        return self.head(output)

    def decode(self, source, max_len: int, source_lengths=None) -> np.ndarray:
        """Greedy decoding: int64 (batch, max_len), each step's argmax fed back as next input."""
        with self.evaluating():
            _, state = self.encoder(source, source_lengths)
            batch = state[0].shape[1] if isinstance(state, tuple) else state.shape[1]
            token = np.full((batch, 1), self.bos_index, dtype=np.int64)
            decoded = []
            for _ in range(int(max_len)):
                output, state = self.decoder(self.target_embedding(token), state)
                token = np.argmax(self.head(output).data, axis=-1).astype(np.int64)
                decoded.append(token[:, 0])
        return np.stack(decoded, axis=1) if decoded else np.zeros((batch, 0), np.int64)


class PairedSeq2Seq(Seq2Seq):
    """A Seq2Seq that takes each (source, target) pair as one row, source ids then target ids
    side by side (batch, source_length + T), so ``annie.fit(model, loss, opt, pairs, targets)``
    trains it with teacher forcing; ``decode`` reads sources alone as in Seq2Seq."""

    def __init__(self, source_length: int, source_vocab_size: int, target_vocab_size: int,
                 hidden_size: int = 128, embedding_dim: int = 32, cell: str = "gru",
                 num_layers: int = 1, bos_index: int = 0,
                 source_padding_idx: int | None = None, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform"):
        super().__init__(source_vocab_size, target_vocab_size, hidden_size, embedding_dim, cell,
                         num_layers, bos_index, source_padding_idx, nonlinearity, recurrent_init)
        self.source_length = check_positive_int(source_length, "source_length", "PairedSeq2Seq")

    def forward(self, pairs, target=None, source_lengths=None) -> Tensor:
        """Teacher-forced logits (batch, T, target_vocab_size) for rows [source | target]."""
        if target is not None:
            return super().forward(pairs, target, source_lengths)
        ids = token_ids(pairs, "PairedSeq2Seq")
        if ids.ndim != 2 or ids.shape[1] <= self.source_length:
            raise ShapeError(f"PairedSeq2Seq: pairs must be (batch, {self.source_length} + "
                             f"target length), got shape {ids.shape}")
        return super().forward(ids[:, :self.source_length], ids[:, self.source_length:],
                               source_lengths)


class CharLanguageModel(Module):
    """Character language model (generation from a seed): embedding, recurrent layer, linear;
    logits for the next character p(x_{t+1} | x_<=t) = softmax(W h_t + b). ``forward`` returns
    (logits, state).
    ``chars`` (optional) stores the vocabulary's characters so a loaded model can generate."""

    def __init__(self, vocab_size: int, hidden_size: int = 128, embedding_dim: int = 32,
                 cell: str = "lstm", num_layers: int = 1, dropout: float = 0.0,
                 chars: str | None = None, nonlinearity: str = "tanh",
                 recurrent_init: str = "uniform"):
        super().__init__()
        if chars is not None and len(chars) != vocab_size:
            raise ConfigError(f"CharLanguageModel: chars has {len(chars)} characters but "
                              f"vocab_size is {vocab_size}")
        self.chars = chars
        self.vocab_size = int(vocab_size)
        self.embedding = Embedding(vocab_size, embedding_dim)
        self.rnn = recurrent_layer(cell, embedding_dim, hidden_size, num_layers, dropout,
                                   nonlinearity=nonlinearity, recurrent_init=recurrent_init)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        """(logits (batch, time, vocab_size), final state) for token ids x (batch, time)."""
        output, state = self.rnn(self.embedding(token_ids(x, "CharLanguageModel")), state)
        return self.head(output), state

    def _char_to_id(self, vocab) -> dict:
        if vocab is not None:
            chars = list(vocab.chars) if hasattr(vocab, "chars") else vocab
            if isinstance(chars, str):
                chars = list(chars)
            if (not isinstance(chars, (list, tuple)) or len(set(chars)) != len(chars)
                    or not all(isinstance(c, str) and len(c) == 1 for c in chars)):
                raise ConfigError(f"CharLanguageModel.generate: vocab must be a CharVocab or "
                                  f"the model's characters in id order (a string of distinct "
                                  f"characters), got {type(vocab).__name__} {vocab!r:.60}")
        elif self.chars is not None:
            chars = list(self.chars)
        else:
            raise ConfigError("CharLanguageModel.generate: pass vocab= (a CharVocab) or build "
                              "the model with chars=")
        if len(chars) != self.vocab_size:
            raise ConfigError(f"CharLanguageModel.generate: the vocabulary has {len(chars)} "
                              f"characters but the model has vocab_size={self.vocab_size}")
        return {char: index for index, char in enumerate(chars)}

    def _layer_states(self, state) -> list:
        """The final state of ``forward`` as one state tuple per layer, for ``rnn.step``."""
        stacked = state if isinstance(state, tuple) else (state,)
        return [tuple(getitem(s, layer) for s in stacked) for layer in range(self.rnn.num_layers)]

    def _step(self, token: int, states: list) -> np.ndarray:
        """One generation step through the layers' per-step seam (``rnn.step``, the cell
        formula): feeds ``token``, updates ``states`` in place, returns the next logits."""
        x = self.embedding(np.array([token], dtype=np.int64))
        for layer in range(self.rnn.num_layers):
            states[layer] = self.rnn.step(x, states[layer], layer)
            x = states[layer][0]
        return self.head(x).data[0]

    def _sample(self, logits: np.ndarray, temperature: float) -> int:
        """A token id drawn from softmax(logits / temperature) (the argmax when 0)."""
        logits = logits.astype(np.float64)
        if temperature == 0:
            return int(np.argmax(logits))
        with np.errstate(over="ignore"):  # a tiny T: the others' -inf, so the argmax alone
            scaled = (logits - logits.max()) / temperature
        probs = np.exp(scaled)
        cumulative = np.cumsum(probs / probs.sum())
        next_id = int(np.searchsorted(cumulative, rng().random(), side="right"))
        return min(next_id, self.vocab_size - 1)

    def generate(self, seed: str, length: int, temperature: float = 1.0, vocab=None) -> str:
        """``seed`` followed by ``length`` sampled characters: each from softmax(logits / T)
        with annie's random generator (T = 0: the most likely character). The seed runs
        through the fused kernels, then each character is one step of the layers' cell
        formula (``rnn.step``), the state carried from step to step. ``length`` is an integer
        >= 0 and ``temperature`` a finite number >= 0 (ConfigError otherwise); ``seed`` a
        non-empty string of the vocabulary's characters (DataError otherwise)."""
        length = check_non_negative_int(length, "length", "generate")
        temperature = finite_number("generate", "temperature", temperature)
        if temperature < 0:
            raise ConfigError(f"generate: temperature must be >= 0, got {temperature}")
        if not isinstance(seed, str):
            raise DataError(f"generate: seed must be a string of characters, got "
                            f"{type(seed).__name__}")
        if not seed:
            raise DataError("generate: seed must hold at least one character")
        char_to_id = self._char_to_id(vocab)
        chars = sorted(char_to_id, key=char_to_id.get)
        unknown = [char for char in seed if char not in char_to_id]
        if unknown:
            raise DataError(f"generate: seed character {unknown[0]!r} is not in the vocabulary")
        generated = []
        with self.evaluating():
            ids = np.array([[char_to_id[char] for char in seed]], dtype=np.int64)
            logits, state = self(ids)  # the seed: the fused kernels over all its steps
            states = self._layer_states(state)
            last = logits.data[0, -1]
            for position in range(length):
                next_id = self._sample(last, temperature)
                generated.append(chars[next_id])
                if position + 1 < length:
                    last = self._step(next_id, states)
        return seed + "".join(generated)
