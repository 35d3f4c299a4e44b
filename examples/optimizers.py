"""The seven optimizers on the same problem: loss curves of an MLP on the digits in one
figure, and the paths each takes on the 2-D Rosenbrock function
f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 (minimum at (1, 1))."""
import numpy as np

import annie
from annie import data, losses, nn, optim

from _common import arguments, pyplot_or_none, save

SETTINGS = {"sgd": {"lr": 0.1, "momentum": 0.9}, "adam": {"lr": 1e-3}, "adamw": {"lr": 1e-3},
            "rmsprop": {"lr": 1e-3}, "adagrad": {"lr": 0.05}, "adadelta": {"lr": 1.0},
            "nadam": {"lr": 2e-3}}
PATH_SETTINGS = {"sgd": {"lr": 1e-3, "momentum": 0.9}, "adam": {"lr": 0.05},
                 "adamw": {"lr": 0.05}, "rmsprop": {"lr": 0.01}, "adagrad": {"lr": 0.5},
                 "adadelta": {"lr": 10.0}, "nadam": {"lr": 0.05}}


def loss_curves(epochs):
    X, y = data.load_digits()
    X = data.StandardScaler().fit_transform(X)
    curves = {}
    for name, settings in SETTINGS.items():
        annie.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        optimizer = optim.get_optimizer(name)(model.parameters(), **settings)
        history = annie.fit(model, losses.cross_entropy, optimizer, X, y, epochs=epochs,
                            batch_size=64, verbose=0, seed=0)
        curves[name] = history.history["loss"]
    return curves


def rosenbrock_path(name, steps):
    point = annie.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    optimizer = optim.get_optimizer(name)([point], **PATH_SETTINGS[name])
    path = [point.data.copy()]
    for _ in range(steps):
        x, y = point[0], point[1]
        value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        path.append(point.data.copy())
    return np.array(path)


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    curves = loss_curves(2 if args.quick else 15)
    paths = {name: rosenbrock_path(name, 50 if args.quick else 1500) for name in SETTINGS}
    for name in SETTINGS:
        end = paths[name][-1]
        print(f"{name:>8}: digits loss {curves[name][0]:.4f} -> {curves[name][-1]:.4f}; "
              f"Rosenbrock end ({end[0]:+.3f}, {end[1]:+.3f})")
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axes = pyplot.subplots(1, 2, figsize=(12, 4.6))
    for name, curve in curves.items():
        axes[0].plot(range(1, len(curve) + 1), curve, label=name)
    axes[0].set(title="MLP on digits: training loss", xlabel="epoch", ylabel="loss", yscale="log")
    grid_x, grid_y = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    axes[1].contour(grid_x, grid_y, np.log1p((1 - grid_x) ** 2 + 100 * (grid_y - grid_x ** 2) ** 2),
                    levels=20, cmap="Greys", alpha=0.5)
    for name, path in paths.items():
        axes[1].plot(path[:, 0], path[:, 1], label=name, linewidth=1)
    axes[1].plot([1], [1], "k*", markersize=12)
    axes[1].set(title="paths on the Rosenbrock function", xlabel="x", ylabel="y")
    for axis in axes:
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    save(figure, args.out, "optimizers.png")


if __name__ == "__main__":
    main()
