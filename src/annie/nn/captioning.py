"""One-to-many: a static input in, a sequence of tokens out (the lecture's "text from an image").

``ImageCaptioner`` encodes one fixed-size input (an image's pixels, or any feature vector) with
an MLP into the initial state of a recurrent decoder, which then writes a token sequence one
step at a time: trained with teacher forcing (``forward``), read out by greedy or beam-search
decoding (``decode``). ``PairedImageCaptioner`` takes image and target side by side in one
array, for ``annie.fit``. ``edit_distance`` and ``character_error_rate`` score what it writes.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError, DTypeError, ShapeError, check_positive_int
from ..functional.activations import relu, tanh
from ..functional.softmax import log_softmax
from ..ops import stack
from ..tensor import Tensor, no_grad
from .embedding import Embedding
from .linear import Linear
from .module import Module
from .sequence_models import CELLS, recurrent_layer, token_ids


def _positive(name: str, value) -> int:
    return check_positive_int(value, name, "ImageCaptioner")


class ImageCaptioner(Module):
    """Image -> text: an MLP encoder whose output is the initial state of a character decoder.

    Encoder (one state per decoder layer, the LSTM's cell state starts at 0):
        h_0 = tanh(W_2 relu(W_1 x + b_1) + b_2),   x: (batch, input_size) floats
    Decoder (``cell`` "gru", "lstm" or "rnn", with ``nonlinearity`` and ``recurrent_init`` as
    ``nn.RNN`` takes them), y_0 = ``bos_index``:
        s_t = cell(embed(y_{t-1}), s_{t-1}),   logits_t = W_o s_t + b_o
    so p(y_1 .. y_T | x) = prod_t softmax(logits_t)[y_t] (Vinyals et al. 2015, "Show and
    Tell", with the image as the initial state instead of the first input).

    ``forward(images, target)`` returns teacher-forced logits (batch, T, vocab_size): the
    decoder reads [bos, y_1, ..., y_{T-1}]. Target positions holding a negative id (e.g. -100
    on padding, ``sequence_cross_entropy``'s ignore_index) are read as ``eos_index``, so one
    padded array serves as decoder input and as loss target. ``decode(images, max_len,
    beam_width)`` writes sequences without a target.

    Raises ConfigError for a non-positive size, an unknown cell, or a bos/eos index outside the
    vocabulary.
    """

    def __init__(self, input_size: int, vocab_size: int, hidden_size: int = 64,
                 embedding_dim: int = 16, encoder_hidden_size: int = 128, cell: str = "gru",
                 num_layers: int = 1, bos_index: int = 0, eos_index: int | None = None,
                 nonlinearity: str = "tanh", recurrent_init: str = "uniform"):
        super().__init__()
        self.input_size = _positive("input_size", input_size)
        self.vocab_size = _positive("vocab_size", vocab_size)
        self.hidden_size = _positive("hidden_size", hidden_size)
        self.num_layers = _positive("num_layers", num_layers)
        if cell not in CELLS:
            raise ConfigError(f"ImageCaptioner: cell must be one of {sorted(CELLS)}, got {cell!r}")
        for name, index in (("bos_index", bos_index), ("eos_index", eos_index)):
            if index is not None and not 0 <= index < self.vocab_size:
                raise ConfigError(f"ImageCaptioner: {name} {index} is outside the vocabulary of "
                                  f"{self.vocab_size} tokens")
        self.cell = cell
        self.bos_index = int(bos_index)
        self.eos_index = None if eos_index is None else int(eos_index)
        self.encoder_hidden = Linear(self.input_size,
                                     _positive("encoder_hidden_size", encoder_hidden_size))
        self.encoder_state = Linear(encoder_hidden_size, self.hidden_size * self.num_layers)
        self.embedding = Embedding(self.vocab_size, _positive("embedding_dim", embedding_dim))
        self.decoder = recurrent_layer(cell, embedding_dim, self.hidden_size, self.num_layers,
                                       nonlinearity=nonlinearity, recurrent_init=recurrent_init)
        self.head = Linear(self.hidden_size, self.vocab_size)

    # ----- encoder --------------------------------------------------------------------------
    def initial_state(self, images):
        """The decoder's initial state for ``images`` (batch, input_size): h_0 of shape
        (num_layers, batch, hidden_size), or (h_0, c_0 = 0) for an LSTM."""
        if not isinstance(images, Tensor):
            images = Tensor(np.asarray(images))
        if images.ndim != 2 or images.shape[1] != self.input_size:
            raise ShapeError(f"ImageCaptioner(input_size={self.input_size}): images must be "
                             f"(batch, {self.input_size}), got shape {tuple(images.shape)}")
        if images.dtype.kind != "f":
            raise DTypeError(f"ImageCaptioner: images must be floats, got dtype {images.dtype}")
        flat = tanh(self.encoder_state(relu(self.encoder_hidden(images))))
        width = self.hidden_size
        h_0 = stack([flat[:, layer * width:(layer + 1) * width]
                     for layer in range(self.num_layers)], axis=0)
        if self.cell == "lstm":
            return h_0, Tensor(np.zeros(h_0.shape, dtype=h_0.dtype))
        return h_0

    # ----- teacher forcing --------------------------------------------------------------------
    def decoder_input(self, target) -> np.ndarray:
        """[bos, y_1, ..., y_{T-1}] for each row of ``target`` (batch, T), negative ids (padding
        labels) replaced by ``eos_index`` (or ``bos_index`` when there is no eos)."""
        target = token_ids(target, "ImageCaptioner")
        if target.ndim != 2 or target.shape[1] == 0:
            raise ShapeError(f"ImageCaptioner: target must be (batch, T) token ids with T >= 1, "
                             f"got shape {target.shape}")
        filler = self.bos_index if self.eos_index is None else self.eos_index
        shifted = np.concatenate([np.full((len(target), 1), self.bos_index, dtype=np.int64),
                                  target[:, :-1].astype(np.int64)], axis=1)
        shifted[shifted < 0] = filler
        return shifted

    def forward(self, images, target) -> Tensor:
        """Teacher-forced logits (batch, T, vocab_size) for ``target`` (batch, T) token ids."""
        state = self.initial_state(images)
        inputs = self.decoder_input(target)
        if len(inputs) != _batch_size(state):
            raise ShapeError(f"ImageCaptioner: {len(inputs)} targets for {_batch_size(state)} "
                             f"images")
        output, _ = self.decoder(self.embedding(inputs), state)
        return self.head(output)

    def sequence_log_prob(self, images, target) -> np.ndarray:
        """log p(target | image) per row, float64 (batch,): the sum over the target's steps up
        to and including its first ``eos_index`` (negative ids count for nothing)."""
        target = token_ids(target, "ImageCaptioner").astype(np.int64)
        with no_grad():
            logits = self.forward(images, target).data.astype(np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        counted = _before_first_eos(target, self.eos_index) & (target >= 0)
        picked = np.take_along_axis(log_probs, np.maximum(target, 0)[..., None], axis=-1)[..., 0]
        return np.where(counted, picked, 0.0).sum(axis=1)

    # ----- decoding ----------------------------------------------------------------------------
    def decode(self, images, max_len: int, beam_width: int = 1,
               length_penalty: float = 0.0) -> np.ndarray:
        """Token ids int64 (batch, max_len) written for each image, without a target.

        ``beam_width=1`` is greedy decoding (each step's most likely token fed back). A wider
        beam keeps the ``beam_width`` most likely partial sequences at every step (sum of log
        probabilities); a sequence ends at ``eos_index`` (it then keeps its score) or after
        ``max_len`` tokens. The best finished sequence wins, scored log p / length **
        ``length_penalty`` (0: plain log probability; 1: per-token mean). After eos a row is
        filled with eos. Raises ConfigError for max_len < 1, beam_width < 1 or a
        length_penalty that is not a finite number >= 0.
        """
        max_len = _positive("max_len", max_len)
        beam_width = _positive("beam_width", beam_width)
        if (isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float))
                or not np.isfinite(length_penalty) or length_penalty < 0):
            raise ConfigError(f"ImageCaptioner.decode: length_penalty must be a finite number "
                              f">= 0, got {length_penalty!r}")
        with self.evaluating():
            return self._beam_search(images, max_len, beam_width, float(length_penalty))

    def _beam_search(self, images, max_len: int, width: int, length_penalty: float):
        state = self.initial_state(images)
        batch = _batch_size(state)
        vocab, eos = self.vocab_size, self.eos_index
        rows = np.repeat(np.arange(batch), width)  # beam b of image i is row i * width + b
        state = _select_rows(state, rows)
        scores = np.full((batch, width), -np.inf)
        scores[:, 0] = 0.0  # all beams start equal: expand only the first at step 1
        finished = np.zeros((batch, width), dtype=bool)
        lengths = np.zeros((batch, width), dtype=np.int64)
        sequences = np.zeros((batch, width, 0), dtype=np.int64)
        tokens = np.full((batch * width, 1), self.bos_index, dtype=np.int64)
        for _ in range(max_len):
            output, state = self.decoder(self.embedding(tokens), state)
            step = log_softmax(self.head(output[:, -1])).data.astype(np.float64)
            step = step.reshape(batch, width, vocab)
            if eos is not None:  # a finished beam only repeats eos, at no cost
                step[finished] = -np.inf
                step[finished, eos] = 0.0
            candidates = (scores[:, :, None] + step).reshape(batch, width * vocab)
            best = np.argsort(-candidates, axis=1, kind="stable")[:, :width]
            beam, token = best // vocab, best % vocab
            scores = np.take_along_axis(candidates, best, axis=1)
            parent = np.take_along_axis(finished, beam, axis=1)
            lengths = np.take_along_axis(lengths, beam, axis=1) + ~parent
            finished = parent | (token == eos) if eos is not None else parent
            sequences = np.concatenate([np.take_along_axis(sequences, beam[..., None], axis=1),
                                        token[..., None]], axis=2)
            state = _select_rows(state, (np.arange(batch)[:, None] * width + beam).reshape(-1))
            tokens = token.reshape(-1, 1)
            if finished.all():
                break
        ranked = scores / np.maximum(lengths, 1) ** length_penalty if length_penalty else scores
        winner = np.argmax(np.where(np.isfinite(scores), ranked, -np.inf), axis=1)
        decoded = sequences[np.arange(batch), winner]
        if decoded.shape[1] < max_len:  # every beam ended early: pad with eos
            decoded = np.concatenate([decoded, np.full((batch, max_len - decoded.shape[1]), eos,
                                                       dtype=np.int64)], axis=1)
        return decoded


class PairedImageCaptioner(ImageCaptioner):
    """An ImageCaptioner that takes each (image, target) pair as one row, the image's
    ``input_size`` features then the target's T token ids (as numbers; -100 padding allowed)
    side by side, shape (batch, input_size + T), so that ``annie.fit(model,
    nn.sequence_cross_entropy, optimizer, pairs, targets)`` trains it with teacher forcing.
    ``decode`` reads images alone, (batch, input_size), or pairs (the targets are ignored)."""

    def forward(self, pairs, target=None) -> Tensor:
        """Teacher-forced logits (batch, T, vocab_size) for rows [image | target ids]."""
        if target is not None:
            return super().forward(pairs, target)
        images, target = self.split_pairs(pairs)
        return super().forward(images, target)

    def split_pairs(self, pairs) -> tuple:
        """(images (batch, input_size), target ids int64 (batch, T)) of rows of pairs."""
        array = pairs.data if isinstance(pairs, Tensor) else np.asarray(pairs)
        if array.ndim != 2 or array.shape[1] <= self.input_size:
            raise ShapeError(f"PairedImageCaptioner: pairs must be (batch, {self.input_size} + "
                             f"target length), got shape {array.shape}")
        ids = array[:, self.input_size:]
        if not np.array_equal(ids, np.round(ids)):
            raise DTypeError("PairedImageCaptioner: the target columns must hold whole token "
                             "ids")
        images = pairs[:, :self.input_size] if isinstance(pairs, Tensor) else \
            array[:, :self.input_size]
        return images, ids.astype(np.int64)

    def initial_state(self, images):
        """As ImageCaptioner's, also for pairs (the target columns are left out)."""
        width = (images.data if isinstance(images, Tensor) else np.asarray(images)).shape[-1]
        if width > self.input_size:
            images = self.split_pairs(images)[0]
        return super().initial_state(images)


def _batch_size(state) -> int:
    """The batch size of a decoder state (num_layers, batch, hidden), or of an LSTM's pair."""
    return (state[0] if isinstance(state, tuple) else state).shape[1]


def _select_rows(state, rows: np.ndarray):
    """The decoder state restricted (and reordered) to batch rows ``rows``."""
    if isinstance(state, tuple):
        return tuple(_select_rows(part, rows) for part in state)
    return Tensor(state.data[:, rows])


def _before_first_eos(target: np.ndarray, eos: int | None) -> np.ndarray:
    """True at every position up to and including the first eos of each row."""
    if eos is None:
        return np.ones(target.shape, dtype=bool)
    is_eos = target == eos
    seen_before = np.cumsum(is_eos, axis=1) - is_eos
    return seen_before == 0


def edit_distance(predicted: Sequence, reference: Sequence) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn
    ``predicted`` into ``reference`` (strings or token lists), by dynamic programming."""
    previous = list(range(len(reference) + 1))
    for i, item in enumerate(predicted, start=1):
        current = [i]
        for j, wanted in enumerate(reference, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (item != wanted)))
        previous = current
    return previous[-1]


def character_error_rate(predicted: Sequence[str], references: Sequence[str]) -> float:
    """CER = sum of edit distances / total reference characters (0 is perfect; it can exceed
    1 when predictions are much longer than the references). ``predicted`` and ``references``
    are lists of texts; a single str is refused (it would be read as a list of characters)."""
    for name, texts in (("predicted", predicted), ("references", references)):
        if isinstance(texts, str):
            raise DTypeError(f"character_error_rate: {name} must be a list of texts, got one "
                             f"str {texts!r}; pass [{texts!r}]")
    if len(predicted) != len(references):
        raise ShapeError(f"character_error_rate: {len(predicted)} predictions for "
                         f"{len(references)} references")
    total = sum(len(reference) for reference in references)
    if total == 0:
        raise ShapeError("character_error_rate: the references hold no characters")
    return sum(edit_distance(p, r) for p, r in zip(predicted, references)) / total
