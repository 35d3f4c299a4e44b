"""The recurrent presets of ``annie train``: the lecture's RNN types on bundled data.

``run.py`` consults this module when ``model.type`` names a sequence model. Each sequence
dataset (``data.dataset``) feeds one model type, trains with ``annie.fit`` and is scored on its
held-out part beside a trivial baseline:

| data.dataset  | model.type          | RNN type            | held-out metric vs baseline       |
|---------------|---------------------|---------------------|-----------------------------------|
| digits_rows   | sequence_classifier | many-to-one         | accuracy vs majority class        |
| sunspots      | sequence_regressor  | many-to-one         | RMSE vs persistence (next = last) |
| bracket_depth | sequence_tagger     | many-to-many        | per-step accuracy vs majority tag |
| date_pairs    | seq2seq             | many-to-many (enc.) | sequence accuracy vs per-position |
| shakespeare   | char_lm             | one-to-many         | bits per character vs unigram     |

Everything is re-created from the configuration and its seed, so ``annie evaluate RUN_DIR``
scores a run folder on the same held-out data.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import ConfigError

#: data.dataset -> (the model.type it feeds, one line)
DATASETS: dict[str, tuple[str, str]] = {
    "digits_rows": ("sequence_classifier", "8x8 digits read row by row (8 steps of 8 pixels) "
                                           "-> the digit"),
    "sunspots": ("sequence_regressor", "yearly sunspot numbers: the past data.window years -> "
                                       "the next data.horizon"),
    "bracket_depth": ("sequence_tagger", "generated bracket strings, every character tagged "
                                         "with its nesting depth"),
    "date_pairs": ("seq2seq", "generated dates in human formats -> ISO YYYY-MM-DD"),
    "shakespeare": ("char_lm", "'As You Like It' character by character -> the next "
                               "character"),
}
#: model.type -> (class name in annie.nn.sequence_models, one line)
MODEL_TYPES: dict[str, tuple[str, str]] = {
    "sequence_classifier": ("SequenceClassifier", "many-to-one: the last state -> class "
                                                  "logits"),
    "sequence_regressor": ("SequenceRegressor", "many-to-one: the last state -> the next "
                                                "values of a series"),
    "sequence_tagger": ("SequenceTagger", "many-to-many aligned: a label at every step"),
    "seq2seq": ("PairedSeq2Seq", "many-to-many encoder-decoder: teacher forcing, greedy "
                                 "decoding"),
    "char_lm": ("CharLanguageModel", "one-to-many: next-character model that generates text"),
}
#: the preset files in examples/configs (``annie train examples/configs/<name>.toml``)
PRESET_FILES: dict[str, str] = {
    "rnn_one_to_one": "one-to-one: an MLP on the 8x8 digits (accuracy vs majority class)",
    "rnn_one_to_many_text": "one-to-many: character LSTM on Shakespeare, writes a sample "
                            "(bits/char vs unigram)",
    "rnn_many_to_one_digits": "many-to-one: LSTM reads digits row by row (accuracy vs "
                              "majority class)",
    "rnn_many_to_one_sunspots": "many-to-one: LSTM forecasts next year's sunspots (RMSE vs "
                                "persistence)",
    "rnn_many_to_many_tagging": "many-to-many aligned: GRU tags bracket depth (accuracy vs "
                                "majority tag)",
    "rnn_many_to_many_dates": "many-to-many encoder-decoder: GRU Seq2Seq translates dates "
                              "(sequence accuracy)",
}
#: [model] keys a sequence preset may set (None: the model class's default)
MODEL_KEYS = ("cell", "hidden_size", "num_layers", "embedding_dim", "bidirectional", "dropout")
DATA_DEFAULTS = {"window": 12, "horizon": 1, "seq_len": 64, "reverse_source": True}
SAMPLE_COUNTS = {"bracket_depth": 2000, "date_pairs": 4000}  # default data.n_samples
GENERATE_DEFAULTS = {"prompt": "ROSALIND. ", "length": 200, "temperature": 0.8}
REGRESSION_LOSSES = ("mse", "mae", "l1", "huber", "log_cosh", "rmse")
LOG2 = math.log(2.0)


@dataclass
class SequenceSplit:
    """Train and held-out arrays of a sequence dataset, with what the model builder and the
    scoring need (``sizes``: constructor arguments taken from the data; ``extra``: scale,
    vocabularies)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    sizes: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass
class SequenceScore:
    """Held-out metrics, the same metrics of the trivial baseline, and lines to print."""

    test: dict
    baseline: dict
    baseline_name: str
    lines: list = field(default_factory=list)


def is_sequence(config: dict) -> bool:
    """True when ``model.type`` is one of the recurrent presets."""
    return config["model"]["type"] in MODEL_TYPES


def _data_option(config: dict, key: str):
    value = config["data"][key]
    if value is not None:
        return value
    if key == "n_samples":
        return SAMPLE_COUNTS[config["data"]["dataset"]]
    return DATA_DEFAULTS[key]


def _model_option_set(config: dict, key: str) -> bool:
    """Whether ``[model]`` sets ``key`` (model.dropout counts when above its default 0)."""
    value = config["model"][key]
    return bool(value) if key == "dropout" else value is not None


def _model_class(model_type: str):
    from .nn import sequence_models
    return getattr(sequence_models, MODEL_TYPES[model_type][0])


def validate(config: dict, source: str) -> None:
    """ConfigError when a sequence configuration names a dataset, loss or key that does not
    fit its model.type, or a size that is not positive."""
    model_type, dataset = config["model"]["type"], config["data"]["dataset"]
    wanted = [name for name, (kind, _) in DATASETS.items() if kind == model_type]
    if config["data"]["path"] is not None or dataset not in wanted:
        raise ConfigError(f"{source}: model.type {model_type!r} trains on data.dataset "
                          f"{wanted[0]!r}, got {dataset or config['data']['path']!r}")
    accepted = inspect.signature(_model_class(model_type)).parameters
    for key in MODEL_KEYS:
        if _model_option_set(config, key) and key not in accepted:
            usable = [k for k in MODEL_KEYS if k in accepted]
            raise ConfigError(f"{source}: model.{key} does not apply to model.type "
                              f"{model_type!r} (its keys: {', '.join(usable)})")
    loss = config["loss"]["name"]
    if model_type == "sequence_regressor":
        if loss not in REGRESSION_LOSSES:
            raise ConfigError(f"{source}: model.type 'sequence_regressor' needs a regression "
                              f"loss.name ({', '.join(REGRESSION_LOSSES)}), got {loss!r}")
    elif loss not in ("cross_entropy", "sequence_cross_entropy"):
        raise ConfigError(f"{source}: model.type {model_type!r} trains with cross_entropy "
                          f"(per step: sequence_cross_entropy), got loss.name {loss!r}")
    for section, key in (("data", "window"), ("data", "horizon"), ("data", "seq_len"),
                         ("data", "n_samples"), ("model", "hidden_size"),
                         ("model", "num_layers"), ("model", "embedding_dim"),
                         ("generate", "length")):
        value = config[section][key]
        if value is not None and value < (0 if key == "length" else 1):
            raise ConfigError(f"{source}: {section}.{key} must be positive, got {value}")
    if config["model"]["cell"] not in (None, "lstm", "gru", "rnn"):
        raise ConfigError(f"{source}: model.cell must be 'lstm', 'gru' or 'rnn', got "
                          f"{config['model']['cell']!r}")
    if (config["generate"]["temperature"] or 0.0) < 0:
        raise ConfigError(f"{source}: generate.temperature must be >= 0")


# ----- data ------------------------------------------------------------------------------
def _digits_rows(config: dict) -> SequenceSplit:
    from .data import load_digits, train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16.0).reshape(-1, 8, 8), y, test_size=config["data"]["test_size"], stratify=True,
        seed=config["seed"])
    return SequenceSplit(X_train, y_train, X_test, y_test, {"input_size": 8, "num_classes": 10})


def _sunspots(config: dict) -> SequenceSplit:
    from .data import load_sunspots, make_windows
    window, horizon = _data_option(config, "window"), _data_option(config, "horizon")
    series = load_sunspots()
    count = len(series) - window - horizon + 1
    n_test = max(1, round(count * config["data"]["test_size"]))
    cut = count - n_test - (horizon - 1)  # no training target falls in the held-out years
    if cut < 1:
        raise ConfigError(f"data: the sunspot series is too short for window={window}, "
                          f"horizon={horizon} and test_size={config['data']['test_size']}")
    scale = float(series[:cut + window + horizon - 1].std())  # of the training years only
    X, y = make_windows(series / scale, window, horizon)
    return SequenceSplit(X[:cut], y[:cut], X[-n_test:], y[-n_test:],
                         {"input_size": 1, "output_size": horizon}, {"scale": scale})


def _bracket_depth(config: dict) -> SequenceSplit:
    from .data import CharVocab, encode_padded, make_bracket_depth, pad_labels
    from .data.tasks import BRACKET_LETTERS, PAD_CHAR
    count = _data_option(config, "n_samples")
    texts, tags = make_bracket_depth(count)
    vocab = CharVocab("()" + BRACKET_LETTERS + PAD_CHAR)  # PAD_CHAR gets id 0
    ids, _ = encode_padded(texts, vocab)
    labels = pad_labels(tags)  # -100 on padded steps
    cut = _train_count(count, config)
    return SequenceSplit(ids[:cut], labels[:cut], ids[cut:], labels[cut:],
                         {"vocab_size": len(vocab), "num_tags": int(labels.max()) + 1,
                          "padding_idx": 0})


def _date_pairs(config: dict) -> SequenceSplit:
    from .data import CharVocab, encode_padded, make_date_pairs
    from .data.tasks import DATE_BOS_CHAR, PAD_CHAR
    count = _data_option(config, "n_samples")
    sources, targets = make_date_pairs(count)
    if _data_option(config, "reverse_source"):  # the day, written first, is read last
        sources = [text[::-1] for text in sources]
    source_vocab = CharVocab("".join(sources) + PAD_CHAR)
    target_vocab = CharVocab("0123456789-" + DATE_BOS_CHAR)
    source_ids, _ = encode_padded(sources, source_vocab)
    target_ids = np.stack([target_vocab.encode(text) for text in targets])
    pairs = np.concatenate([source_ids, target_ids], axis=1)
    cut = _train_count(count, config)
    return SequenceSplit(pairs[:cut], target_ids[:cut], pairs[cut:], target_ids[cut:],
                         {"source_length": source_ids.shape[1],
                          "source_vocab_size": len(source_vocab),
                          "target_vocab_size": len(target_vocab),
                          "bos_index": target_vocab.char_to_id[DATE_BOS_CHAR],
                          "source_padding_idx": source_vocab.char_to_id[PAD_CHAR]},
                         {"target_vocab": target_vocab, "sources": sources[cut:],
                          "reversed": bool(_data_option(config, "reverse_source"))})


def _shakespeare(config: dict) -> SequenceSplit:
    from .data import CharVocab, load_shakespeare
    seq_len = _data_option(config, "seq_len")
    text = load_shakespeare()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * (1.0 - config["data"]["test_size"]))
    parts = []
    for part in (ids[:split], ids[split:]):  # consecutive windows; targets shifted by one
        count = (len(part) - 1) // seq_len
        if count < 1:
            raise ConfigError(f"data: data.seq_len={seq_len} is longer than a part of the "
                              f"text ({len(part)} characters)")
        starts = np.arange(count)[:, None] * seq_len + np.arange(seq_len)
        parts += [part[starts], part[starts + 1]]
    counts = np.bincount(ids[:split], minlength=len(vocab)) + 1.0  # add-one smoothing
    return SequenceSplit(*parts, {"vocab_size": len(vocab), "chars": "".join(vocab.chars)},
                         {"unigram": counts / counts.sum()})


def _train_count(count: int, config: dict) -> int:
    cut = count - max(1, round(count * config["data"]["test_size"]))
    if cut < 1:
        raise ConfigError(f"data: data.n_samples={count} leaves no training samples")
    return cut


PREPARE: dict[str, Callable[[dict], SequenceSplit]] = {
    "digits_rows": _digits_rows, "sunspots": _sunspots, "bracket_depth": _bracket_depth,
    "date_pairs": _date_pairs, "shakespeare": _shakespeare}


def prepare(config: dict) -> SequenceSplit:
    """The train/held-out split of the configuration's sequence dataset (generated tasks are
    drawn after seeding annie with the configuration's seed, so they come back the same)."""
    from . import backend
    backend.manual_seed(config["seed"])
    return PREPARE[config["data"]["dataset"]](config)


# ----- model, loss, training metrics ------------------------------------------------------
def build_model(config: dict, split: SequenceSplit):
    """The model.type's model: sizes from the data, the rest from ``[model]`` (unset keys keep
    the class's defaults)."""
    options = {key: config["model"][key] for key in MODEL_KEYS if _model_option_set(config, key)}
    return _model_class(config["model"]["type"])(**split.sizes, **options)


def loss_function(config: dict):
    """The loss: per-step cross-entropy for taggers, seq2seq and the char model, else
    ``loss.name``."""
    if config["model"]["type"] in ("sequence_tagger", "seq2seq", "char_lm"):
        from .nn.sequence_models import sequence_cross_entropy
        return sequence_cross_entropy
    return config["loss"]["name"]


def fit_metrics(config: dict) -> list:
    """The per-epoch metrics fit reports: train.metrics that suit the model's output."""
    kinds = {"sequence_classifier": ("accuracy", "top_k_accuracy", "precision", "recall",
                                     "f1"),
             "sequence_regressor": ("mae", "rmse", "r2")}.get(config["model"]["type"], ())
    return [metric for metric in config["train"]["metrics"] if metric in kinds]


# ----- held-out scores beside a trivial baseline ------------------------------------------
def score(model, split: SequenceSplit, config: dict) -> SequenceScore:
    """Held-out metric(s) of the trained model and of the model.type's trivial baseline."""
    return SCORERS[config["model"]["type"]](model, split, config)


def _score_classifier(model, split, config) -> SequenceScore:
    from .train import predict
    predicted = predict(model, split.X_test, batch_size=256).argmax(axis=1)
    majority = np.bincount(split.y_train).argmax()
    return SequenceScore({"accuracy": float(np.mean(predicted == split.y_test))},
                         {"accuracy": float(np.mean(split.y_test == majority))},
                         f"majority class {majority}")


def _score_regressor(model, split, config) -> SequenceScore:
    from .train import predict
    scale = split.extra["scale"]
    predicted = predict(model, split.X_test, batch_size=256).reshape(split.y_test.shape)
    last = split.X_test[:, -1]
    persistence = np.broadcast_to(last.reshape(len(last), *([1] * (split.y_test.ndim - 1))),
                                  split.y_test.shape)
    def rmse(values):
        return float(np.sqrt(np.mean((values - split.y_test) ** 2))) * scale
    return SequenceScore({"rmse": rmse(predicted)}, {"rmse": rmse(persistence)},
                         "persistence: next = last")


def _score_tagger(model, split, config) -> SequenceScore:
    from .train import predict
    predicted = predict(model, split.X_test, batch_size=256).argmax(axis=-1)
    truth, real = split.y_test, split.y_test != -100
    majority = np.bincount(split.y_train[split.y_train != -100]).argmax()
    def scores(labels):
        return {"accuracy": float(np.mean(labels[real] == truth[real])),
                "sequence_accuracy": float(np.mean(np.all((labels == truth) | ~real, axis=1)))}
    return SequenceScore(scores(predicted), scores(np.full_like(truth, majority)),
                         f"majority tag {majority}")


def _score_seq2seq(model, split, config) -> SequenceScore:
    truth = split.y_test
    decoded = model.decode(split.X_test[:, :model.source_length], max_len=truth.shape[1])
    majority = np.array([np.bincount(column).argmax() for column in split.y_train.T])
    def scores(labels):
        return {"sequence_accuracy": float(np.mean(np.all(labels == truth, axis=1))),
                "char_accuracy": float(np.mean(labels == truth))}
    vocab, source = split.extra["target_vocab"], split.extra["sources"][0]
    source = source[::-1] if split.extra["reversed"] else source
    line = (f"example: {source!r} -> {vocab.decode(decoded[0])!r} (truth "
            f"{vocab.decode(truth[0])!r})")
    return SequenceScore(scores(decoded), scores(np.broadcast_to(majority, truth.shape)),
                         "most frequent character at each position", [line])


def _score_char_lm(model, split, config) -> SequenceScore:
    from .train import predict
    logits = predict(model, split.X_test, batch_size=64).astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, split.y_test[..., None], axis=-1)
    bits = float(-picked.mean() / LOG2)
    unigram = float(-np.mean(np.log2(split.extra["unigram"][split.y_test])))
    options = {key: config["generate"][key] if config["generate"][key] is not None else default
               for key, default in GENERATE_DEFAULTS.items()}
    lines = []
    if options["length"] > 0:
        sample = model.generate(options["prompt"], options["length"], options["temperature"])
        lines = [f"sample (temperature {options['temperature']}):", sample]
    return SequenceScore({"bits_per_char": bits}, {"bits_per_char": unigram},
                         "unigram character frequencies", lines)


SCORERS = {"sequence_classifier": _score_classifier, "sequence_regressor": _score_regressor,
           "sequence_tagger": _score_tagger, "seq2seq": _score_seq2seq,
           "char_lm": _score_char_lm}
