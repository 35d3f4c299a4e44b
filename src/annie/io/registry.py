"""Class name -> Module class, so a saved architecture names classes and never holds code.

annie's own layers (every ``Module`` subclass defined inside the ``annie`` package) are known
by their class name. A user's own Module must be registered before saving and before loading:

    @annie.io.register_module
    class Encoder(nn.Module): ...

Loading looks names up here only; a name that is not registered is an error, so a file can
never make annie import a module or call anything that was not registered on purpose.
"""
from __future__ import annotations

import importlib

from ..errors import ConfigError, SerializationError
from ..nn.module import Module

_user_classes: dict[str, type] = {}


def _annie_classes() -> dict[str, type]:
    """Every Module subclass defined inside annie, by class name (walked without recursion)."""
    importlib.import_module("annie.nn")
    found: dict[str, type] = {"Module": Module}
    stack = list(Module.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == "annie" and not cls.__name__.startswith("_"):
            found.setdefault(cls.__name__, cls)
    return found


def register_module(cls: type | None = None, *, name: str | None = None):
    """Make a Module subclass savable and loadable under ``name`` (default: its class name).

    Use as ``@register_module``, ``@register_module(name="Encoder")`` or ``register_module(cls)``.
    """
    def register(target: type) -> type:
        if not (isinstance(target, type) and issubclass(target, Module)):
            raise ConfigError(f"register_module: {target!r} is not a subclass of annie.nn.Module")
        key = name if name is not None else target.__name__
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"register_module: name must be a Python identifier, got {key!r}")
        builtin = _annie_classes().get(key)
        if builtin is not None and builtin is not target:
            raise ConfigError(f"register_module: the name {key!r} is taken by annie's "
                              f"{builtin.__module__}.{key}; pass name=... to register "
                              f"{target.__qualname__}")
        previous = _user_classes.get(key)
        if previous is not None and previous is not target and (
                previous.__module__, previous.__qualname__) != (target.__module__,
                                                                 target.__qualname__):
            raise ConfigError(f"register_module: the name {key!r} is already registered for "
                              f"{previous.__module__}.{previous.__qualname__}")
        if builtin is None:
            _user_classes[key] = target
        return target

    if cls is not None:
        return register(cls)
    return register


def name_of(cls: type, where: str = "model") -> str:
    """The name under which ``cls`` is saved; SerializationError if it is not registered."""
    for key, registered in _user_classes.items():
        if registered is cls:
            return key
    if _annie_classes().get(cls.__name__) is cls:
        return cls.__name__
    raise SerializationError(
        f"cannot save {where}: class {cls.__module__}.{cls.__qualname__} is not registered; "
        f"decorate it with @annie.io.register_module (and import it before annie.load)")


def lookup(name: str) -> type | None:
    """The class registered under ``name``, or None."""
    if name in _user_classes:
        return _user_classes[name]
    return _annie_classes().get(name)


def unregister_module(name: str) -> None:
    """Forget a user class registered under ``name`` (tests use this to clean up)."""
    _user_classes.pop(name, None)
