"""One-to-one: one static input -> one label. An MLP reads a whole 8x8 digit image at once.

    python examples/rnn_one_to_one.py            # full run
    python examples/rnn_one_to_one.py --quick    # a few seconds

Prints the held-out accuracy and the majority-class baseline.
"""
from __future__ import annotations

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import load_digits, train_test_split
from annie.train.metrics import confusion_matrix

from _common import at_least, parse, parser, pyplot_or_none, quick_or_full, save


def main(argv: list[str] | None = None) -> dict:
    """Train the MLP on the bundled digits and return {"accuracy", "baseline"} on the test split."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--epochs", type=at_least(1), default=None,
                                 help="training epochs (default 30; quick 2)")
    args = parse(argument_parser, argv)
    epochs = quick_or_full(args.epochs, args.quick, 2, 30)
    annie.manual_seed(args.seed)

    X, y = load_digits()
    X = X / 16.0  # pixel counts 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=True,
                                                        seed=args.seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-2 if args.quick else 3e-3)
    annie.fit(model, losses.cross_entropy, optimizer, X_train, y_train, epochs=epochs,
              batch_size=32, verbose=0)
    accuracy = annie.evaluate(model, None, X_test, y_test, metrics=["accuracy"])["accuracy"]
    majority = np.bincount(y_train).argmax()
    baseline = float(np.mean(y_test == majority))
    print(f"one-to-one (MLP on digits) held-out accuracy: {accuracy:.4f}")
    print(f"baseline (majority class {majority}) accuracy: {baseline:.4f}")
    plot_confusion(confusion_matrix(annie.predict(model, X_test), y_test), args.out)
    return {"accuracy": accuracy, "baseline": baseline}


def plot_confusion(matrix: np.ndarray, out: str) -> None:
    """The held-out confusion matrix: true digit (rows) against predicted digit (columns)."""
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axis = pyplot.subplots(figsize=(5, 4.4))
    image = axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7)
    axis.set(xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10),
             title="one-to-one: MLP on digits, held-out")
    figure.colorbar(image, ax=axis)
    save(figure, out, "one_to_one_confusion.png")


if __name__ == "__main__":
    main()
