"""The neuron: one perceptron learns AND and OR but not XOR; two layers solve XOR.

Perceptron rule (Rosenblatt): y_hat = step(w . x + b); w <- w + lr (y - y_hat) x,
b <- b + lr (y - y_hat). It converges only when a straight line separates the classes,
and no line separates XOR. A hidden layer bends the boundary.
"""
import numpy as np

import annie
from annie import losses, nn, optim

from _common import arguments

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


def main():
    args = arguments(__doc__.splitlines()[0])
    for name, targets in TARGETS.items():
        weight, bias, accuracy = train_perceptron(targets)
        print(f"perceptron {name:>3}: w={np.round(weight, 2)}, b={bias:.2f}, accuracy={accuracy:.2f}")
    annie.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=0.05), INPUTS,
              TARGETS["XOR"], epochs=100 if args.small else 300, batch_size=4, verbose=0)
    predictions = annie.predict(model, INPUTS).argmax(axis=1)
    print(f"2-layer MLP XOR: predictions {predictions.tolist()}, "
          f"accuracy={np.mean(predictions == TARGETS['XOR']):.2f}")


if __name__ == "__main__":
    main()
