"""Registries: the one way annie finds a thing by name (losses, optimizers, schedulers,
activations, metrics, the command line's model types).

A name is looked up after one normalisation (``normalize_name``: surrounding spaces dropped,
lower case, '-' and ' ' read as '_'), so "Cross-Entropy", "cross_entropy" and "CROSS_ENTROPY"
are the same name. An unknown name is a ``ConfigError`` that names the kind of thing, the name
given, the closest known name and every valid name. The description of an entry is the first
sentence of its docstring, so the docstring is the one place a thing is described.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def as_callable(value, kind: str, who: str):
    """``value`` ready to call: a class (``losses.CrossEntropy``, a metric class) is made with
    its defaults, as Keras's ``compile`` does, so that it is called on (prediction, target)
    and not constructed from them; anything else is returned as it is. A class that needs
    arguments, or a value that is not callable, is a ConfigError naming ``who``, the ``kind``
    and the fix."""
    if isinstance(value, type):
        try:
            value = value()
        except TypeError as error:
            raise ConfigError(f"{who}: the {kind} class {value.__name__} cannot be made with "
                              f"its defaults ({error}); pass an instance, "
                              f"{value.__name__}(...)") from None
    if not callable(value):
        raise ConfigError(f"{who}: a {kind} must be a function, an object with __call__, a "
                          f"class or a name, got {type(value).__name__}")
    return value


def normalize_name(name: str) -> str:
    """``name`` as registries compare it: stripped, lower case, '-' and ' ' as '_'."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of ``text``, on one line."""
    paragraph = " ".join(line.strip() for line in text.strip().split("\n\n", 1)[0].splitlines())
    sentence, _, rest = paragraph.partition(". ")
    return sentence + "." if rest else sentence.rstrip(":")


def summary_line(obj) -> str:
    """The first sentence of ``obj``'s docstring on one line ('' without a docstring)."""
    return first_sentence(getattr(obj, "__doc__", None) or "")


class Registry(Mapping, Generic[T]):
    """Canonical name -> entry, plus aliases; ``lookup`` accepts either, in any spelling that
    normalises to it. Iterating yields the canonical names in registration order."""

    def __init__(self, kind: str, entries: dict[str, T] | None = None,
                 aliases: dict[str, str] | None = None):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        for name, entry in (entries or {}).items():
            self.register(name, entry)
        for alias, name in (aliases or {}).items():
            self.add_alias(alias, name)

    # ----- filling ---------------------------------------------------------------------
    def register(self, name: str, entry: T | None = None):
        """Add ``entry`` under ``name``; without ``entry``, a decorator that adds what it
        decorates. A name already taken by another entry is a ConfigError."""
        def add(target: T) -> T:
            key = normalize_name(name)
            taken = self._entries.get(key, self._aliases.get(key))
            if key in self._aliases or (taken is not None and taken is not target):
                raise ConfigError(f"{self.kind} name {name!r} is already registered")
            self._entries[key] = target
            return target
        return add if entry is None else add(entry)

    def add_alias(self, alias: str, name: str) -> None:
        """Let ``alias`` stand for the canonical ``name``."""
        key, target = normalize_name(alias), normalize_name(name)
        if target not in self._entries:
            raise ConfigError(f"{self.kind} alias {alias!r} points to unknown name {name!r}")
        if key in self._entries:
            raise ConfigError(f"{self.kind} alias {alias!r} is already a {self.kind} name")
        self._aliases[key] = target

    # ----- finding ---------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        """The canonical name that ``name`` (any spelling, or an alias) stands for."""
        if not isinstance(name, str):
            raise ConfigError(f"{self.kind} must be given by name (a string), got "
                              f"{type(name).__name__} {name!r}")
        key = normalize_name(name)
        key = self._aliases.get(key, key)
        if key not in self._entries:
            known = [*self._entries, *self._aliases]
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" (did you mean {self._aliases.get(close[0], close[0])!r}?)" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{hint}; valid names: "
                              f"{', '.join(sorted(self._entries))}")
        return key

    def lookup(self, name: str) -> T:
        """The entry registered under ``name`` (any spelling, or an alias); ConfigError naming
        the closest and every valid name when there is none."""
        return self._entries[self.canonical(name)]

    def describe(self, name: str) -> str:
        """The one-line description of an entry: the first sentence of its docstring."""
        return summary_line(self.lookup(name))

    def descriptions(self) -> dict[str, str]:
        """Canonical name -> one-line description, for every entry."""
        return {name: summary_line(entry) for name, entry in self._entries.items()}

    def aliases(self) -> dict[str, str]:
        """Alias -> canonical name."""
        return dict(self._aliases)

    def names(self, aliases: bool = False) -> list[str]:
        """The canonical names (and, with ``aliases=True``, the aliases after them)."""
        return [*self._entries, *(self._aliases if aliases else ())]

    # ----- Mapping over the canonical names --------------------------------------------
    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name) -> bool:
        if not isinstance(name, str):
            return False
        key = normalize_name(name)
        return key in self._entries or key in self._aliases

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
