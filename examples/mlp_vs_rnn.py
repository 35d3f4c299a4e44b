"""MLP vs RNN, measured: the lecture's comparison table with numbers.

An MLP and a recurrent model are trained on a sequential task (next-year sunspots from the past
12 years) and on a static task (8x8 digits; the recurrent model reads the rows one by one).
The table gives the held-out metric, the trivial baseline, parameter counts and seconds per
epoch; a figure is saved when matplotlib is installed.

A second experiment shows the lecture's row "how data are processed": the pixels of every
digit are shuffled by one fixed random permutation. An MLP sees all features at once, so the
order means nothing to it: started from the same weights (each attached to the same pixel), it
learns the same function and its accuracy stays. The recurrent model reads the rows in order, so
it loses the structure it relied on.

    python examples/mlp_vs_rnn.py [--quick] [--cell lstm|gru|rnn] [--out DIR]

Figures: mlp_vs_rnn.png and mlp_vs_rnn_order.png in --out (default examples/output).
"""
from __future__ import annotations

import os

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import load_digits, train_test_split
from annie.train import compare_mlp_rnn, format_comparison, plot_comparison

from _common import at_least, parse, parser, pyplot_or_none, quick_or_full, save

LECTURE_POINTS = """\
What the lecture's table says, and what to look for in the numbers above:
- data: RNN for sequential data (time series, text), MLP for static, order-free data;
- processing: the RNN reads one time step after another with a hidden state (memory), the MLP
  sees every feature at once and keeps no memory;
- cost: the RNN is more complex to compute (steps run in order), see seconds per epoch.
On short fixed-length windows an MLP that sees the whole window can match an RNN: the RNN's
advantage is memory across long or variable-length sequences, where no fixed window fits."""


def order_matters(cell: str, hidden_size: int, epochs: int, seed: int, out: str) -> dict:
    """Held-out digit accuracy of an MLP and a recurrent model (rows in order) on the original
    images and on images whose 64 pixels are shuffled by one fixed permutation."""
    X, y = load_digits()
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=True,
                                                        seed=seed)
    permutation = np.random.default_rng(seed).permutation(64)
    results = {}
    for layout, columns in (("original", np.arange(64)), ("pixels shuffled", permutation)):
        for name in ("MLP", cell.upper()):
            annie.manual_seed(seed)
            if name == "MLP":
                model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
                # the same initial weights, each attached to the pixel it had before: for an
                # MLP a permutation of the inputs is only a relabelling
                model[0].weight.data[...] = model[0].weight.data[:, columns]
                shape = (-1, 64)
            else:
                model = nn.SequenceClassifier(input_size=8, hidden_size=hidden_size,
                                              num_classes=10, cell=cell)
                shape = (-1, 8, 8)
            annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=3e-3),
                      X_train[:, columns].reshape(shape), y_train, epochs=epochs, batch_size=32,
                      verbose=0)
            predicted = annie.predict(model, X_test[:, columns].reshape(shape)).argmax(axis=1)
            results[(name, layout)] = float(np.mean(predicted == y_test))
    print("order of the inputs: held-out digit accuracy")
    for name in ("MLP", cell.upper()):
        print(f"  {name:<5} original {results[(name, 'original')]:.4f}   pixels shuffled "
              f"{results[(name, 'pixels shuffled')]:.4f}")
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axis = pyplot.subplots(figsize=(5.6, 3.8))
        names = ["MLP", cell.upper()]
        for offset, layout in ((-0.2, "original"), (0.2, "pixels shuffled")):
            axis.bar(np.arange(2) + offset, [results[(name, layout)] for name in names], 0.4,
                     label=layout)
        axis.set(xticks=range(2), xticklabels=names, ylabel="held-out accuracy", ylim=(0, 1),
                 title="does the order of the inputs matter?")
        axis.legend()
        save(figure, out, "mlp_vs_rnn_order.png")
    return {f"{name} {layout}": value for (name, layout), value in results.items()}


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the comparison, print the table and save the figure; returns the rows."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    argument_parser.add_argument("--epochs", type=at_least(1), default=None,
                                 help="epochs per model (default 40; quick 1)")
    args = parse(argument_parser, argv)
    epochs = quick_or_full(args.epochs, args.quick, 1, 40)
    rows = compare_mlp_rnn(cell=args.cell, hidden_size=8 if args.quick else 32, epochs=epochs,
                           seed=args.seed)
    print(format_comparison(rows))
    print(LECTURE_POINTS)
    os.makedirs(args.out, exist_ok=True)
    figure = os.path.join(args.out, "mlp_vs_rnn.png")
    if plot_comparison(rows, figure):
        print(f"figure: {figure}")
    else:
        print("matplotlib is not installed: no figure")
    order_matters(args.cell, 8 if args.quick else 64, epochs if args.quick else 20, args.seed,
                  args.out)
    return rows


if __name__ == "__main__":
    main()
