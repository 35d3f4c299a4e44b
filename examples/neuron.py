"""The neuron: one perceptron learns AND and OR but not XOR; two layers solve XOR.

Perceptron rule (Rosenblatt): y_hat = step(w . x + b); w <- w + lr (y - y_hat) x,
b <- b + lr (y - y_hat). It converges only when a straight line separates the classes,
and no line separates XOR. A hidden layer bends the boundary.
"""
import numpy as np

import annie
from annie import losses, nn, optim

from _common import arguments, pyplot_or_none, save

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {"AND": np.array([0, 0, 0, 1]), "OR": np.array([0, 1, 1, 1]),
           "XOR": np.array([0, 1, 1, 0])}


def train_perceptron(targets, epochs=25, lr=0.1):
    """The perceptron learning rule; returns the weights, bias and final accuracy."""
    weight, bias = np.zeros(2), 0.0
    for _ in range(epochs):
        for x, y in zip(INPUTS, targets):
            error = y - float(weight @ x + bias > 0)
            weight += lr * error * x
            bias += lr * error
    predictions = (INPUTS @ weight + bias > 0).astype(int)
    return weight, bias, float(np.mean(predictions == targets))


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    perceptrons = {}
    for name, targets in TARGETS.items():
        weight, bias, accuracy = train_perceptron(targets)
        perceptrons[name] = (weight, bias)
        print(f"perceptron {name:>3}: w={np.round(weight, 2)}, b={bias:.2f}, "
              f"accuracy={accuracy:.2f}")
    annie.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=0.05), INPUTS,
              TARGETS["XOR"], epochs=100 if args.quick else 300, batch_size=4, verbose=0)
    predictions = annie.predict(model, INPUTS).argmax(axis=1)
    print(f"2-layer MLP XOR: predictions {predictions.tolist()}, "
          f"accuracy={np.mean(predictions == TARGETS['XOR']):.2f}")
    plot_boundaries(perceptrons, model, args.out)


def plot_boundaries(perceptrons, model, out):
    """Decision regions of the three perceptrons and of the MLP on XOR."""
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    grid_x, grid_y = np.meshgrid(np.linspace(-0.5, 1.5, 101), np.linspace(-0.5, 1.5, 101))
    points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float32)
    regions = {f"perceptron {name}": (points @ weight + bias > 0).reshape(grid_x.shape)
               for name, (weight, bias) in perceptrons.items()}
    regions["2-layer MLP XOR"] = annie.predict(model, points).argmax(axis=1).reshape(grid_x.shape)
    figure, axes = pyplot.subplots(1, 4, figsize=(13, 3.4))
    for axis, (title, region) in zip(axes, regions.items()):
        targets = TARGETS[title.split()[-1]]
        axis.contourf(grid_x, grid_y, region, levels=[-0.5, 0.5, 1.5],
                      colors=["#f4cccc", "#cfe2f3"])
        axis.scatter(INPUTS[:, 0], INPUTS[:, 1], c=targets, cmap="bwr_r", edgecolors="black",
                     s=80)
        axis.set(title=title, xlabel="x1", ylabel="x2", aspect="equal")
    save(figure, out, "neuron.png")


if __name__ == "__main__":
    main()
