"""``Sequential``: layers applied one after another (feedforward), and ``ModuleList``."""
from __future__ import annotations

from typing import Iterable, Iterator

from ..errors import ConfigError, ShapeError
from ..tensor import Tensor, is_graph_free, wrap_array
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
        """The layers, named by their index as in PyTorch."""
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        """Each layer's output is the next one's input; under ``no_grad()`` the leading layers
        that have an array path (``forward_array``) run on the raw array, no Tensor between."""
        done = 0
        if is_graph_free() and isinstance(x, Tensor):
            array = x.data
            try:
                for layer in self.layers:
                    step = layer.forward_array
                    if step is None or "forward" in layer.__dict__:  # (a forward set on the
                        break                                         # instance must run)
                    array = step(array)
                    done += 1
            except ShapeError as error:
                if getattr(error, "_sequential_index_added", False):
                    raise
                raise _name_layer(error, done, self.layers[done]) from error
            if done:
                x = wrap_array(array)
            if done == len(self.layers):
                return x
        # the rest (all layers when a graph is recorded) by calling each layer on a Tensor
        return self._run_tensors(x, done)

    def _run_tensors(self, x, start: int):
        """Run layers ``start``, ``start + 1``, ... by calling them (recording a graph as usual)."""
        for i in range(start, len(self.layers)):
            layer = self.layers[i]
            try:
                x = layer(x)
            except ShapeError as error:
                if getattr(error, "_sequential_index_added", False):
                    raise
                raise _name_layer(error, i, layer) from error
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


def _name_layer(error: ShapeError, index: int, layer: Module) -> ShapeError:
    """A ShapeError naming the failing layer's index and type in front of ``error``."""
    wrapped = ShapeError(f"Sequential layer {index} ({type(layer).__name__}): {error}")
    wrapped._sequential_index_added = True
    return wrapped


class ModuleList(Module):
    """A list of modules whose parameters are registered as ``0.weight``, ``1.weight``, ..."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.items = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The modules, named by their index as in PyTorch."""
        for i, module in enumerate(self.items):
            yield str(i), module

    def append(self, module: Module) -> "ModuleList":
        """Add a module at the end."""
        self.items.append(module)
        return self

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.items)
