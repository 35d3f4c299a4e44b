"""``Sequential``: layers applied one after another (feedforward), and ``ModuleList``."""
from __future__ import annotations

from typing import Iterable, Iterator

from ..errors import ConfigError, ShapeError
from .module import Module


class Sequential(Module):
    """Feedforward: the output of each layer is the input of the next. Parameters are named
    ``0.weight``, ``2.bias``, ... as in PyTorch."""

    def __init__(self, *layers: Module):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ConfigError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except ShapeError as error:
                if getattr(error, "_sequential_index_added", False):
                    raise
                wrapped = ShapeError(f"Sequential layer {i} ({type(layer).__name__}): {error}")
                wrapped._sequential_index_added = True
                raise wrapped from error
        return x

    def append(self, layer: Module) -> "Sequential":
        """Add a layer at the end."""
        if not isinstance(layer, Module):
            raise ConfigError(f"Sequential.append: {type(layer).__name__} is not a Module")
        self.layers.append(layer)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


class ModuleList(Module):
    """A list of modules whose parameters are registered as ``0.weight``, ``1.weight``, ..."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.items = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, module in enumerate(self.items):
            yield str(i), module

    def append(self, module: Module) -> "ModuleList":
        self.items.append(module)
        return self

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.items)
