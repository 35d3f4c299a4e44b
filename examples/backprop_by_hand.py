"""Feedforward and backpropagation worked by hand in NumPy on a 2-2-1 network, then checked
against annie's autograd.

Network: h = sigmoid(W1 x + b1), y_hat = sigmoid(W2 h + b2), loss L = 1/2 (y_hat - y)^2.
Backward (chain rule), with delta = dL/d(pre-activation):
  delta2 = (y_hat - y) * y_hat (1 - y_hat);   dL/dW2 = delta2 h^T;   dL/db2 = delta2
  delta1 = (W2^T delta2) * h (1 - h);         dL/dW1 = delta1 x^T;   dL/db1 = delta1

The autograd graph of the same loss is drawn with annie.diagnostics.draw_graph: every tensor
with its value and the gradient backpropagation delivers to it (backprop_graph.dot always;
backprop_graph.svg too when the graphviz package and the Graphviz program are installed).

    python examples/backprop_by_hand.py [--out DIR]
"""
import os

import numpy as np

import annie
from annie import functional
from annie.diagnostics import draw_graph, render_dot
from annie.errors import ConfigError
from annie.io import atomic_write_bytes

from _common import arguments


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def by_hand(x, y, W1, b1, W2, b2):
    """Forward and backward pass in NumPy, printing every intermediate value."""
    z1 = W1 @ x + b1
    h = sigmoid(z1)
    z2 = W2 @ h + b2
    y_hat = sigmoid(z2)
    loss = 0.5 * float((y_hat - y) @ (y_hat - y))
    print(f"forward:  z1={z1.round(4)}  h={h.round(4)}  z2={z2.round(4)}  y_hat={y_hat.round(4)}"
          f"  loss={loss:.6f}")
    delta2 = (y_hat - y) * y_hat * (1 - y_hat)
    delta1 = (W2.T @ delta2) * h * (1 - h)
    print(f"backward: delta2={delta2.round(6)}  delta1={delta1.round(6)}")
    return loss, {"W1": np.outer(delta1, x), "b1": delta1, "W2": np.outer(delta2, h),
                  "b2": delta2}


def by_autograd(x, y, W1, b1, W2, b2, out=None):
    """The same network as annie tensors; backward() fills every .grad. With ``out`` the
    graph is drawn there, each node labelled with its value and gradient."""
    params = {name: annie.tensor(value, requires_grad=True)
              for name, value in (("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2))}
    inputs = annie.tensor(x)
    h = functional.sigmoid(functional.linear(inputs, params["W1"], params["b1"]))
    y_hat = functional.sigmoid(functional.linear(h, params["W2"], params["b2"]))
    difference = y_hat - annie.tensor(y)
    loss = 0.5 * (difference * difference).sum()
    if out is None:
        loss.backward()
    else:
        draw(loss, {**params, "x": inputs, "h": h, "y_hat": y_hat, "L": loss}, out)
    return float(loss.item()), {name: param.grad for name, param in params.items()}


def draw(loss, names, out):
    """Run backward through draw_graph, which records every node's gradient, and save it."""
    os.makedirs(out, exist_ok=True)
    dot_path = os.path.join(out, "backprop_graph.dot")
    text = draw_graph(loss, dot_path, backward=True, names=names)
    print(f"graph (DOT text): {dot_path}")
    try:
        svg = render_dot(text, "svg")
    except ConfigError as error:
        print(f"no SVG: {error}")
        return
    svg_path = os.path.join(out, "backprop_graph.svg")
    atomic_write_bytes(svg_path, svg)
    print(f"figure: {svg_path}")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    x, y = np.array([0.05, 0.10]), np.array([0.01])
    W1 = np.array([[0.15, 0.20], [0.25, 0.30]]); b1 = np.array([0.35, 0.35])
    W2 = np.array([[0.40, 0.45]]); b2 = np.array([0.60])
    loss_hand, grads_hand = by_hand(x, y, W1, b1, W2, b2)
    loss_auto, grads_auto = by_autograd(x, y, W1, b1, W2, b2, out=args.out)
    print(f"loss: by hand {loss_hand:.12f}, autograd {loss_auto:.12f}")
    worst = 0.0
    for name in grads_hand:
        difference = float(np.max(np.abs(grads_hand[name] - grads_auto[name])))
        worst = max(worst, difference)
        print(f"dL/d{name}: by hand {grads_hand[name].round(8).tolist()}  "
              f"max |difference| {difference:.1e}")
    print(f"largest difference between hand and autograd gradients: {worst:.1e}")
    if worst > 1e-12:
        raise SystemExit("hand-derived and autograd gradients disagree")


if __name__ == "__main__":
    main()
