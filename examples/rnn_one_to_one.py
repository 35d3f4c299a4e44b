"""One-to-one: one static input -> one label. An MLP reads a whole 8x8 digit image at once.

    python examples/rnn_one_to_one.py            # full run
    python examples/rnn_one_to_one.py --quick    # a few seconds

Prints the held-out accuracy and the majority-class baseline.
"""
from __future__ import annotations

import argparse

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import load_digits, train_test_split


def main(argv: list[str] | None = None) -> dict:
    """Train the MLP on the bundled digits and return {"accuracy", "baseline"} on the test split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for tests")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 30)
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
    return {"accuracy": accuracy, "baseline": baseline}


if __name__ == "__main__":
    main()
