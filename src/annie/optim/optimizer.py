"""``Optimizer``, the base of every optimizer: parameter groups, ``zero_grad``, ``step`` and state.

A concrete optimizer declares its options (``defaults``), checks them (``_check_group``), makes
the per-parameter state on first use (``_init_state``) and updates one parameter in place
(``_update(param, grad, state, group)``). Everything else lives here, with PyTorch's layout:

    optimizer.param_groups  list of dicts: {"params": [Parameter, ...], "lr": ..., ...}
    optimizer.state         dict: Parameter -> {"step": int, "exp_avg": ndarray, ...}
    optimizer.state_dict()  {"state": {index: {...}},
                             "param_groups": [{..., "params": [index, ...]}]}

State values are ndarrays and Python numbers only, so a state dict can be saved without pickle.
Weight decay, as an L2 penalty or decoupled (AdamW), and ``maximize`` are applied in one place,
``_effective_grad``, which every ``_update`` calls first.

For an optimizer whose ``_update`` is elementwise (``elementwise_update = True``: all of this
package's), ``step`` runs ``_update`` once per group on flat arrays (the group's parameters and
state are views into them, see ``flat.py``) when every parameter has a gradient and their counters
agree, and once per parameter otherwise; both give the same numbers.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import ConfigError, ShapeError, plain_numbers
from ..tensor import Tensor, enable_grad
from .flat import FlatGroup, build_flat_group

ParamsT = Iterable[Tensor] | Iterable[dict]


class Optimizer:
    """Base class of optimizers: owns ``param_groups``, ``state``, ``zero_grad``, ``step`` and
    ``state_dict``; subclasses define ``_init_state`` and ``_update``."""

    #: State entries that are Python numbers (the rest are arrays shaped like the parameter).
    scalar_state_keys: tuple[str, ...] = ("step",)
    #: True when ``_update`` is elementwise (no norms or sums over a parameter), so that one call
    #: on a group's concatenated arrays equals one call per parameter and ``step`` may use it.
    elementwise_update: bool = False

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[tuple, np.ndarray] = {}  # work arrays, see _buffer
        self._flat_groups: dict[int, FlatGroup] = {}  # group number -> its flat layout
        if isinstance(params, Tensor):
            raise ConfigError(f"{self._name}: params must be an iterable of Parameters or of "
                              f"dicts, got a single Tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ConfigError(f"{self._name}: got an empty parameter list; pass "
                              f"model.parameters() of a model that has parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ----- groups -----------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options take the defaults)."""
        if not isinstance(param_group, dict):
            raise ConfigError(f"{self._name}: a parameter group must be a dict, "
                              f"got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ConfigError(f"{self._name}: a parameter group needs a 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ConfigError(f"{self._name}: a parameter group has an empty 'params' list")
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise ConfigError(f"{self._name}: params[{index}] must be a Tensor/Parameter, "
                                  f"got {type(param).__name__}")
            if not param.is_leaf:
                raise ConfigError(f"{self._name}: params[{index}] was made by an op; only leaf "
                                  f"tensors (parameters) can be optimized")
        unknown = sorted(set(param_group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ConfigError(f"{self._name}: unknown option(s) {unknown} in a parameter group; "
                              f"valid options are {sorted(self.defaults)}")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ConfigError(f"{self._name}: a parameter appears more than once across the "
                              f"parameter groups")
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ConfigError for an invalid option of one group (subclasses add their checks)."""
        check_nonnegative(self._name, "lr", group["lr"])

    # ----- the update -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros with ``set_to_none=False``)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` (optional) recomputes the
        loss first and its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for number, group in enumerate(self.param_groups):
            if not self._step_flat(number, group):
                self._step_each(group)
        return loss

    def _step_flat(self, number: int, group: dict[str, Any]) -> bool:
        """Update the whole group with one ``_update`` call on its flat arrays (see flat.py);
        False, with nothing done, when a gradient is missing, misshaped or of another dtype than
        its parameter, or the parameters' states differ (``_step_each`` then updates them one
        by one)."""
        if not self.elementwise_update:
            return False
        params = group["params"]
        grads = []
        for param in params:
            grad, data = param.grad, param.data
            if grad is None or grad.shape != data.shape or grad.dtype != data.dtype:
                return False
            grads.append(grad)
        flat = self._flat_groups.get(number)
        if flat is None or not flat.is_current(params, self.state):
            flat = build_flat_group(params, self.state, group, self._init_state)
            if flat is None:
                return False
            self._flat_groups[number] = flat
        if not flat.common_scalars():
            return False
        self._update(flat.flat_param, flat.gather_grads(grads), flat.flat_state, group)
        flat.share_new_state_arrays()
        return True

    def _step_each(self, group: dict[str, Any]) -> None:
        """Update each parameter of the group that has a gradient with its own ``_update``."""
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            if grad.shape != param.data.shape:
                raise ShapeError(f"{self._name}.step: a gradient has shape {grad.shape} but "
                                 f"its parameter has shape {param.data.shape}")
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = self._init_state(param.data, group)
            self._update(param.data, grad, state, group)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """The state of one parameter before its first update."""
        raise NotImplementedError(f"{self._name} does not define _init_state()")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Update ``param`` in place from ``grad``, advancing ``state``. Elementwise: ``step``
        calls it once per group on the concatenated parameters, gradients and state arrays."""
        raise NotImplementedError(f"{self._name} does not define _update()")

    def _buffer(self, param: np.ndarray, slot: int = 0) -> np.ndarray:
        """Work array number ``slot`` shaped like ``param``, reused step after step and shared
        by parameters of the same shape and dtype (its contents last one ``_update`` only)."""
        key = (param.shape, param.dtype, slot)
        buffer = self._scratch.get(key)
        if buffer is None:
            buffer = self._scratch[key] = np.empty_like(param)
        return buffer

    def _effective_grad(self, param: np.ndarray, grad: np.ndarray, group: dict[str, Any]
                        ) -> np.ndarray:
        """The gradient the update uses, after weight decay (the one place it is applied):

        g = (-grad if maximize else grad) + weight_decay * param       (L2 penalty), or, for a
        group with ``decoupled_weight_decay`` (AdamW's rule, Loshchilov & Hutter): first
        param = param * (1 - lr * weight_decay) in place, then g = +-grad.

        ``grad`` itself is never changed; a new g is written to work buffer 0.
        """
        # Python floats, so that a NumPy float64 setting does not turn float32 arithmetic into
        # float64 (Adam's compiled loop casts every setting to the parameters' dtype)
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        if group.get("decoupled_weight_decay", False):
            if weight_decay != 0:
                param *= 1 - float(group["lr"]) * weight_decay
            weight_decay = 0
        if weight_decay == 0 and not maximize:
            return grad
        out = self._buffer(param, 0)
        if weight_decay == 0:
            return np.negative(grad, out=out)
        np.multiply(param, weight_decay, out=out)
        if maximize:
            out -= grad
        else:
            out += grad
        return out

    # ----- state dict -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, parameters replaced by their index:
        ``{"state": {i: {...}}, "param_groups": [{options..., "params": [i, ...]}]}``."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            indices = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                indices.append(index_of[id(param)])
            options = {key: value for key, value in group.items() if key != "params"}
            groups.append({**options, "params": indices})
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index_of[id(param)]] = {
                        key: (value.copy() if isinstance(value, np.ndarray) else value)
                        for key, value in self.state[param].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and per-parameter state from ``state_dict()`` (arrays are copied and
        cast to each parameter's dtype; the group structure must match this optimizer's)."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ConfigError(f"{self._name}.load_state_dict: expected a dict with keys "
                              f"'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ConfigError(f"{self._name}.load_state_dict: the state dict has "
                              f"{len(saved_groups)} parameter groups, the optimizer has "
                              f"{len(self.param_groups)}")
        params_by_index: dict[int, Tensor] = {}
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ConfigError(f"{self._name}.load_state_dict: parameter group {number} has "
                                  f"{len(saved['params'])} parameters in the state dict, "
                                  f"{len(group['params'])} in the optimizer")
            for index, param in zip(saved["params"], group["params"]):
                params_by_index[int(index)] = param
        new_state: dict[Tensor, dict[str, Any]] = {}
        for index, saved_state in state_dict["state"].items():
            param = params_by_index.get(int(index))
            if param is None:
                raise ConfigError(f"{self._name}.load_state_dict: state for parameter index "
                                  f"{index}, which no parameter group lists")
            new_state[param] = self._restore_state(param, saved_state, int(index))
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            options = {key: _restore_option(value) for key, value in saved.items()
                       if key != "params"}
            new_group = {**group, **options, "params": group["params"]}
            self._check_group(new_group)
            new_groups.append(new_group)
        self.state = new_state
        self.param_groups = new_groups

    def _restore_state(self, param: Tensor, saved: dict[str, Any], index: int) -> dict[str, Any]:
        restored: dict[str, Any] = {}
        for key, value in saved.items():
            if key in self.scalar_state_keys:
                number = np.asarray(value).item()
                restored[key] = int(number) if key == "step" else float(number)
                continue
            array = np.asarray(value)
            if array.shape != param.data.shape:
                raise ShapeError(f"{self._name}.load_state_dict: state {key!r} of parameter "
                                 f"{index} has shape {array.shape}, the parameter has shape "
                                 f"{param.data.shape}")
            restored[key] = array.astype(param.data.dtype, copy=True)
        return restored

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return plain_numbers("\n".join(lines) + "\n)")


def _restore_option(value: Any) -> Any:
    """Options saved through JSON come back as lists; betas are tuples."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


# ----- argument checks shared by the optimizers ---------------------------------------------
def _check_number(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ConfigError(f"{owner}: {name} must be a real number, got {value!r}")


def check_nonnegative(owner: str, name: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is a number >= 0."""
    _check_number(owner, name, value)
    if value < 0:
        raise ConfigError(f"{owner}: {name} must be >= 0, got {value!r}")


def check_in_range(owner: str, name: str, value: Any, low: float, high: float,
                   high_inclusive: bool = False) -> None:
    """Raise ConfigError unless low <= value < high (or <= high with ``high_inclusive``)."""
    _check_number(owner, name, value)
    above = value > high if high_inclusive else value >= high
    if value < low or above:
        bracket = "]" if high_inclusive else ")"
        raise ConfigError(f"{owner}: {name} must be in [{low}, {high}{bracket}, got {value!r}")


def add_scaled(target: np.ndarray, source: np.ndarray, scale: float, work: np.ndarray) -> None:
    """target += scale * source, in place, using ``work`` (may be ``source``) for the product."""
    np.multiply(source, scale, out=work)
    target += work


def add_scaled_square(target: np.ndarray, source: np.ndarray, scale: float,
                      work: np.ndarray) -> None:
    """target += scale * source^2, in place, formed as (scale * source) * source, as PyTorch's
    addcmul does: with scale = 1 - beta2 = 1e-3 a float32 gradient of 3e19 adds 9e35 instead of
    overflowing in 9e38 (a second moment stays finite up to |g| of about 5.8e20).
    ``work`` is a scratch array of the same shape, distinct from ``source``."""
    np.multiply(source, scale, out=work)
    work *= source
    target += work


def check_betas(owner: str, betas: Any) -> None:
    """Raise ConfigError unless ``betas`` is a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ConfigError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    check_in_range(owner, "betas[0]", betas[0], 0.0, 1.0)
    check_in_range(owner, "betas[1]", betas[1], 0.0, 1.0)
