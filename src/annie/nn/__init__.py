"""Layers and models: ``Module``, ``Parameter``, ``Linear``, ``Sequential`` and the rest."""
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Sequential", "ModuleList"]
