"""Activation functions and their derivatives, the derivatives taken by annie's autograd.

For each activation f, one backward pass of sum(f(x)) gives f'(x) at every point
(d/dx_i sum_j f(x_j) = f'(x_i)); the figure plots f and f' side by side.
"""
import numpy as np

import annie
from annie import functional

from _common import arguments, pyplot_or_none, save

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus",
         "softsign", "hard_sigmoid"]


def value_and_derivative(name, x):
    """f(x) and f'(x) by autograd."""
    inputs = annie.tensor(x, requires_grad=True)
    outputs = functional.get_activation(name)(inputs)
    outputs.sum().backward()
    return outputs.data, inputs.grad


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    x = np.linspace(-4, 4, 81 if args.quick else 801)
    curves = {name: value_and_derivative(name, x) for name in NAMES}
    for name, (value, derivative) in curves.items():
        print(f"{name:>12}: f(0)={value[len(x) // 2]:+.4f}  f'(0)={derivative[len(x) // 2]:+.4f}"
              f"  f'(4)={derivative[-1]:+.4f}")
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for name, (value, derivative) in curves.items():
        axes[0].plot(x, value, label=name)
        axes[1].plot(x, derivative, label=name)
    for axis, title in zip(axes, ("f(x)", "f'(x) by autograd")):
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.set_xlabel("x")
    axes[1].legend(fontsize=7, ncol=2)
    figure.tight_layout()
    save(figure, args.out, "activations.png")


if __name__ == "__main__":
    main()
