"""Every regression loss plotted against the residual r = prediction - target, with its
gradient dL/dprediction from autograd (MSE grows as r^2, MAE as |r|, Huber and log-cosh are
quadratic near 0 and linear far away, so outliers pull less)."""
import numpy as np

import annie
from annie import losses

from _common import arguments, pyplot_or_none, save

NAMES = ["mse", "mae", "rmse", "huber", "log_cosh", "mean_bias_error"]


def loss_per_residual(name, residual):
    """L(r) for each residual alone (reduction="none" where the loss has it) and dL/dr."""
    prediction = annie.tensor(residual, requires_grad=True)
    target = np.zeros_like(residual)
    loss_fn = losses.get_loss(name)
    if name == "rmse":  # a root of a mean has no per-element form: sqrt(r^2) = |r|
        values = np.abs(residual)
        gradient = np.sign(residual)
    else:
        per_element = loss_fn(prediction, target, reduction="none")
        per_element.sum().backward()
        values, gradient = per_element.data, prediction.grad
    return values, gradient


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    residual = np.linspace(-3, 3, 61 if args.quick else 601)
    curves = {name: loss_per_residual(name, residual) for name in NAMES}
    for name, (values, gradient) in curves.items():
        print(f"{name:>16}: L(1)={values[np.argmin(abs(residual - 1))]:+.4f}  "
              f"L(3)={values[-1]:+.4f}  dL/dr(3)={gradient[-1]:+.4f}")
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for name, (values, gradient) in curves.items():
        axes[0].plot(residual, values, label=name)
        axes[1].plot(residual, gradient, label=name)
    for axis, title in zip(axes, ("loss L(r)", "gradient dL/dr")):
        axis.set_title(title)
        axis.set_xlabel("residual r = prediction - target")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    save(figure, args.out, "regression_losses.png")


if __name__ == "__main__":
    main()
