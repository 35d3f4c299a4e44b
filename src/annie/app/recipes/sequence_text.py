"""The sequence kinds on characters: a tagger (many-to-many aligned), an encoder-decoder
(many-to-many) and a character language model that writes a sample from a seed."""
from __future__ import annotations

import math

import numpy as np

from ... import data
from ...data.files import file_problem
from ...errors import ConfigError, DataError
from ...nn import sequence_models
from ..schema import Key, non_negative, positive
from .base import Scores, Split
from .sequence import SequenceRecipe, model_keys, train_count

LOG2 = math.log(2.0)
CHARACTER_LOSSES = ("sequence_cross_entropy", "cross_entropy")
N_SAMPLES = Key((int,), None, "samples generated (sequence_tagger: default 2000, seq2seq: "
                              "4000)", check=positive)


class CharacterRecipe(SequenceRecipe):
    """Shared: trained with cross-entropy at every step, no per-epoch metrics."""

    losses = CHARACTER_LOSSES
    metrics = ()

    def loss_refusal(self, name: str) -> str:
        return (f"model.type {self.model_type!r} trains with cross_entropy (per step: "
                f"sequence_cross_entropy), got loss.name {name!r}")

    def loss_function(self):
        return sequence_models.sequence_cross_entropy


class SequenceTaggerRecipe(CharacterRecipe):
    """many-to-many aligned: a label at every step (each character of a generated bracket
    string tagged with its nesting depth)."""

    model_type = "sequence_tagger"
    task = "tagging"
    datasets = {"bracket_depth": "generated bracket strings, every character tagged with its "
                                 "nesting depth"}
    model_class = sequence_models.SequenceTagger
    keys = {**model_keys(model_class), "data.n_samples": N_SAMPLES}
    defaults = {"loss.name": "sequence_cross_entropy", "train.metrics": [],
                "data.n_samples": 2000}

    def prepare_dataset(self, name: str) -> Split:
        from ...data.tasks import BRACKET_LETTERS, PAD_CHAR
        count = self.get("data.n_samples")
        texts, tags = data.make_bracket_depth(count)
        vocab = data.CharVocab("()" + BRACKET_LETTERS + PAD_CHAR)  # PAD_CHAR gets id 0
        ids, _ = data.encode_padded(texts, vocab)
        labels = data.pad_labels(tags)  # -100 on padded steps
        cut = train_count(count, self.get("data.test_size"))
        majority = int(np.bincount(labels[:cut][labels[:cut] != -100]).argmax())
        info = {"sizes": {"vocab_size": len(vocab), "num_tags": int(labels.max()) + 1,
                          "padding_idx": 0}, "majority": majority}
        return Split(ids[:cut], labels[:cut], ids[cut:], labels[cut:], info)

    def score(self, model, split: Split) -> Scores:
        from ...train import predict
        predicted = predict(model, split.X_test, batch_size=256).argmax(axis=-1)
        truth, real = split.y_test, split.y_test != -100
        majority = split.info["majority"]

        def scores(labels):
            return {"accuracy": float(np.mean(labels[real] == truth[real])),
                    "sequence_accuracy": float(np.mean(np.all((labels == truth) | ~real,
                                                              axis=1)))}
        return Scores(scores(predicted), scores(np.full_like(truth, majority)),
                      f"majority tag {majority}")


class Seq2SeqRecipe(CharacterRecipe):
    """many-to-many encoder-decoder: teacher forcing, greedy decoding (generated dates in
    human formats -> ISO YYYY-MM-DD)."""

    model_type = "seq2seq"
    task = "translation"
    datasets = {"date_pairs": "generated dates in human formats -> ISO YYYY-MM-DD"}
    model_class = sequence_models.PairedSeq2Seq
    keys = {**model_keys(model_class), "data.n_samples": N_SAMPLES,
            "data.reverse_source": Key((bool,), True, "the encoder reads each source reversed "
                                                      "(seq2seq)")}
    defaults = {"loss.name": "sequence_cross_entropy", "train.metrics": [],
                "data.n_samples": 4000}

    def prepare_dataset(self, name: str) -> Split:
        from ...data.tasks import DATE_BOS_CHAR, PAD_CHAR
        count = self.get("data.n_samples")
        sources, targets = data.make_date_pairs(count)
        if self.get("data.reverse_source"):  # the day, written first, is read last
            sources = [text[::-1] for text in sources]
        source_vocab = data.CharVocab("".join(sources) + PAD_CHAR)
        target_vocab = data.CharVocab("0123456789-" + DATE_BOS_CHAR)
        source_ids, _ = data.encode_padded(sources, source_vocab)
        target_ids = np.stack([target_vocab.encode(text) for text in targets])
        pairs = np.concatenate([source_ids, target_ids], axis=1)
        cut = train_count(count, self.get("data.test_size"))
        majority = [int(np.bincount(column).argmax()) for column in target_ids[:cut].T]
        info = {"sizes": {"source_length": source_ids.shape[1],
                          "source_vocab_size": len(source_vocab),
                          "target_vocab_size": len(target_vocab),
                          "bos_index": target_vocab.char_to_id[DATE_BOS_CHAR],
                          "source_padding_idx": source_vocab.char_to_id[PAD_CHAR]},
                "target_chars": "".join(target_vocab.chars), "first_source": sources[cut],
                "reversed": bool(self.get("data.reverse_source")), "majority": majority}
        return Split(pairs[:cut], target_ids[:cut], pairs[cut:], target_ids[cut:], info)

    def score(self, model, split: Split) -> Scores:
        truth = split.y_test
        decoded = model.decode(split.X_test[:, :model.source_length], max_len=truth.shape[1])
        majority = np.asarray(split.info["majority"])

        def scores(labels):
            return {"sequence_accuracy": float(np.mean(np.all(labels == truth, axis=1))),
                    "char_accuracy": float(np.mean(labels == truth))}
        chars = split.info["target_chars"]

        def text(ids):
            return "".join(chars[i] for i in ids)
        source = split.info["first_source"]
        source = source[::-1] if split.info["reversed"] else source
        line = f"example: {source!r} -> {text(decoded[0])!r} (truth {text(truth[0])!r})"
        return Scores(scores(decoded), scores(np.broadcast_to(majority, truth.shape)),
                      "most frequent character at each position", lines=[line])


GENERATE_KEYS = {
    "generate.prompt": Key((str,), "ROSALIND. ", "text the sample after training starts from "
                                                 "(char_lm)"),
    "generate.length": Key((int,), 200, "characters to generate (char_lm; 0: no sample)",
                           check=non_negative),
    "generate.temperature": Key((float,), 0.8, "sampling temperature (char_lm; 0: most "
                                               "likely)", check=non_negative),
}


class CharLanguageModelRecipe(CharacterRecipe):
    """generation from a seed: next-character model that writes text (Shakespeare's 'As You
    Like It', or a UTF-8 text file of your own)."""

    model_type = "char_lm"
    task = "language modelling"
    datasets = {"shakespeare": "'As You Like It' character by character -> the next "
                               "character"}
    accepts_path = "a UTF-8 text file"
    model_class = sequence_models.CharLanguageModel
    keys = {**model_keys(model_class),
            "data.seq_len": Key((int,), 64, "characters per training window (char_lm)",
                                check=positive),
            **GENERATE_KEYS}
    defaults = {"loss.name": "sequence_cross_entropy", "train.metrics": []}

    def prepare_dataset(self, name: str) -> Split:
        return self._windows(data.load_shakespeare())

    def prepare_file(self, path: str) -> Split:
        problem = file_problem(path)
        if problem:
            raise ConfigError(f"data.path {path!r} {problem}")
        try:
            with open(path, encoding="utf-8") as handle:
                return self._windows(handle.read())
        except UnicodeDecodeError:
            raise DataError(f"data.path {path!r}: not a UTF-8 text file") from None

    def _windows(self, text: str) -> Split:
        seq_len = self.get("data.seq_len")
        vocab = data.CharVocab.from_text(text)
        ids = vocab.encode(text)
        split = int(len(ids) * (1.0 - self.get("data.test_size")))
        parts = []
        for part in (ids[:split], ids[split:]):  # consecutive windows; targets shifted by one
            count = (len(part) - 1) // seq_len
            if count < 1:
                raise ConfigError(f"data: data.seq_len={seq_len} is longer than a part of the "
                                  f"text ({len(part)} characters)")
            starts = np.arange(count)[:, None] * seq_len + np.arange(seq_len)
            parts += [part[starts], part[starts + 1]]
        unknown = sorted(set(self.get("generate.prompt")) - set(vocab.chars))
        if self.get("generate.length") > 0 and unknown:
            raise self.error(f"generate.prompt: character {unknown[0]!r} does not occur in the "
                             f"text, so the model cannot read it")
        counts = np.bincount(ids[:split], minlength=len(vocab)) + 1.0  # add-one smoothing
        info = {"sizes": {"vocab_size": len(vocab), "chars": "".join(vocab.chars)},
                "unigram": (counts / counts.sum()).tolist()}
        return Split(*parts, info)

    def score(self, model, split: Split) -> Scores:
        from ...train import predict
        logits = predict(model, split.X_test, batch_size=64).astype(np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(log_probs, split.y_test[..., None], axis=-1)
        bits = float(-picked.mean() / LOG2)
        unigram = float(-np.mean(np.log2(np.asarray(split.info["unigram"])[split.y_test])))
        lines = []
        if self.get("generate.length") > 0:
            temperature = self.get("generate.temperature")
            sample = model.generate(self.get("generate.prompt"), self.get("generate.length"),
                                    temperature)
            lines = [f"sample (temperature {temperature}):", sample]
        return Scores({"bits_per_char": bits}, {"bits_per_char": unigram},
                      "unigram character frequencies", lines=lines)
