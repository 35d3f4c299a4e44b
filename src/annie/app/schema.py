"""The keys of a run configuration: what each one accepts, its default and what it means.

``CORE`` holds the keys every run kind reads; each recipe adds the keys of its own kind
(``Recipe.keys``), and ``annie.app.config.schema()`` joins them. A key is written
"section.key" ("seed" at the top level). This module imports nothing from the rest of
``annie.app``, so both the recipes and the configuration reader build on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import is_positive_int

TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list",
              bool: "true or false"}


@dataclass(frozen=True)
class Key:
    """One configuration key: accepted TOML types, default (None: unset, the recipe decides),
    a one-line description, and optional fixed ``choices`` or a ``check`` that returns what is
    wrong with a value (a phrase such as "must be positive") or None."""

    types: tuple[type, ...]
    default: Any
    description: str
    choices: tuple = ()
    check: Callable[[Any], str | None] | None = field(default=None, compare=False)

    def type_names(self) -> str:
        """The accepted types in words ("an integer or a string")."""
        return " or ".join(TYPE_NAMES.get(kind, kind.__name__) for kind in self.types)


def choice_words(choices) -> str:
    """"'a', 'b' or 'c'"."""
    quoted = [repr(choice) for choice in choices]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def positive(value) -> str | None:
    """'must be positive' unless value > 0."""
    return None if value > 0 else f"must be positive, got {value}"


def non_negative(value) -> str | None:
    """'must be >= 0' unless value >= 0."""
    return None if value >= 0 else f"must be >= 0, got {value}"


def open_fraction(value) -> str | None:
    """'must be between 0 and 1' unless 0 < value < 1."""
    return None if 0.0 < value < 1.0 else f"must be between 0 and 1, got {value}"


def fraction(value) -> str | None:
    """'must be in [0, 1)' unless 0 <= value < 1."""
    return None if 0.0 <= value < 1.0 else f"must be in [0, 1), got {value}"


def distinct_items(value) -> str | None:
    """'names x twice' when a list holds an item more than once (None for other values)."""
    if not isinstance(value, list):
        return None
    repeated = next((item for index, item in enumerate(value) if item in value[:index]), None)
    return None if repeated is None else f"names {repeated!r} twice, in {value!r}"


def string_list(value) -> str | None:
    """'must be a list of strings' unless every item is a string, each once."""
    ok = all(isinstance(item, str) for item in value)
    return distinct_items(value) if ok else f"must be a list of strings, got {value!r}"


def one_delimiter(value) -> str | None:
    """'must be one character' unless a CSV delimiter can be ``value``."""
    if len(value) == 1 and value not in "\"\r\n":
        return None
    return f"must be one character other than a quote or a line break, got {value!r}"


def positive_int_list(value) -> str | None:
    """'must be a list of positive integers' unless it is one."""
    ok = all(is_positive_int(item) for item in value)
    return None if ok else f"must be a list of positive integers, got {value!r}"


#: Sections whose further keys are passed to a class (checked against its arguments).
OPEN_SECTIONS = ("loss", "optimizer", "scheduler")

#: Tables another command reads from the same file; ``annie train`` passes over them, so one
#: file serves both (``annie tune`` checks its ``[tune]`` table itself).
OTHER_COMMANDS_SECTIONS = ("tune",)

#: The keys every run kind reads ("section.key"; top-level keys have no section).
CORE: dict[str, Key] = {
    "seed": Key((int,), 0, "seed of every random choice (split, initialisation, shuffling)",
                check=non_negative),
    "data.dataset": Key((str,), None, "a bundled dataset (see annie list); or give data.path"),
    "data.path": Key((str,), None, "your data file: a CSV table (or .npz; a text file for "
                                   "char_lm); relative to the configuration file"),
    "data.test_size": Key((float,), 0.2, "fraction of the samples held out for the final "
                                         "test (kept in the run folder)", check=open_fraction),
    "model.type": Key((str,), "mlp", "the run kind's model (see annie list: models)"),
    "loss.name": Key((str,), None, "loss function (annie list); default: cross_entropy for "
                                   "classification, mse for regression; further [loss] keys "
                                   "are the loss's options (e.g. delta for huber)"),
    "optimizer.name": Key((str,), "adam", "optimizer (annie list); further [optimizer] keys "
                                          "are its arguments (e.g. momentum, weight_decay)"),
    "optimizer.lr": Key((float,), 1e-3, "learning rate", check=positive),
    "scheduler.name": Key((str,), None, "learning-rate schedule after each epoch: step, "
                                        "exponential, cosine, plateau or linear (warm-up); "
                                        "unset: a constant rate. Further [scheduler] keys are "
                                        "its arguments (step_size, gamma, T_max, factor, "
                                        "patience, start_factor, total_iters, ...)"),
    "train.epochs": Key((int,), 30, "passes over the training data", check=positive),
    "train.batch_size": Key((int,), 32, "samples per gradient step (more than the data: one "
                                        "batch)", check=positive),
    "train.metrics": Key((list,), None, "metrics reported each epoch and on the held-out "
                                        "data; default: the run kind's (accuracy for "
                                        "classifiers, mae, rmse, r2 for regressors)",
                         check=string_list),
    "train.top_k": Key((int,), 5, "k of the top_k_accuracy metric (fewer than the classes)",
                       check=positive),
    "train.validation_split": Key((float,), 0.0, "fraction of the training data used for "
                                                 "validation", check=fraction),
    "train.clip_grad_norm": Key((float,), 0.0, "clip the global gradient norm to this "
                                               "(0: off)", check=non_negative),
    "train.early_stopping_patience": Key((int,), 0, "stop after this many epochs without "
                                                    "improvement of val_loss (0: off; needs "
                                                    "validation_split)", check=non_negative),
    "train.checkpoint_every": Key((int,), 0, "where the run's checkpoint (for --resume) may "
                                             "be written: every N batches (0: at each epoch "
                                             "end)", check=non_negative),
    "train.checkpoint_seconds": Key((float,), 10.0, "at least this many seconds of training "
                                                    "between two checkpoints (0: at every "
                                                    "checkpoint_every); the last one is always "
                                                    "written. A write takes milliseconds, more "
                                                    "than an epoch of a small model; a killed "
                                                    "run resumes exactly from its last "
                                                    "checkpoint", check=non_negative),
    "train.plot": Key((bool,), True, "draw the history into history.png (with matplotlib; "
                                     "false saves time in many short runs)"),
}


def split_name(name: str) -> tuple[str, str]:
    """"data.path" -> ("data", "path"); "seed" -> ("", "seed")."""
    section, _, key = name.rpartition(".")
    return section, key
