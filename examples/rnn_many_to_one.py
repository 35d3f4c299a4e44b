"""Many-to-one: a sequence in, one output out.

1. Sequence classification: each 8x8 digit is read row by row as an 8-step sequence of 8 pixels;
   an LSTM's last state is classified (held-out accuracy vs the majority class).
2. Next-value forecasting: the past ``window`` years of sunspot numbers -> the next year
   (held-out RMSE vs the persistence baseline "next year = this year").

    python examples/rnn_many_to_one.py [--quick] [--cell lstm|gru|rnn]
"""
from __future__ import annotations

import argparse

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import load_digits, load_sunspots, make_windows, train_test_split


def classify_digit_rows(epochs: int, hidden_size: int, cell: str, seed: int) -> dict:
    """Digits as 8 rows of 8 pixels through a SequenceClassifier; accuracy and baseline."""
    X, y = load_digits()
    X = (X / 16.0).reshape(-1, 8, 8)  # (samples, time = row, features = pixels in the row)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=True,
                                                        seed=seed)
    model = nn.SequenceClassifier(input_size=8, hidden_size=hidden_size, num_classes=10,
                                  cell=cell)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.cross_entropy, optimizer, X_train, y_train, epochs=epochs,
              batch_size=32, verbose=0)
    accuracy = annie.evaluate(model, None, X_test, y_test, metrics=["accuracy"])["accuracy"]
    majority = np.bincount(y_train).argmax()
    baseline = float(np.mean(y_test == majority))
    print(f"many-to-one classification (digits row by row, {cell}) held-out accuracy: "
          f"{accuracy:.4f}")
    print(f"baseline (majority class) accuracy: {baseline:.4f}")
    return {"accuracy": accuracy, "baseline": baseline}


def sunspot_splits(window: int, test_years: int):
    """Scaled sunspot windows split in time: (X_train, y_train, X_test, y_test, scale)."""
    series = load_sunspots()
    scale = float(series[:-test_years].std())
    scaled = series / scale
    X, y = make_windows(scaled, window)
    cut = len(X) - test_years
    return X[:cut], y[:cut], X[cut:], y[cut:], scale


def forecast_sunspots(epochs: int, hidden_size: int, cell: str, window: int = 12,
                      test_years: int = 60) -> dict:
    """Next-year sunspot forecasts; RMSE (in sunspot numbers) and the persistence baseline."""
    X_train, y_train, X_test, y_test, scale = sunspot_splits(window, test_years)
    model = nn.SequenceRegressor(input_size=1, hidden_size=hidden_size, cell=cell)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.mse, optimizer, X_train, y_train, epochs=epochs, batch_size=16,
              verbose=0)
    prediction = annie.predict(model, X_test)
    rmse = float(np.sqrt(np.mean((prediction - y_test) ** 2))) * scale
    persistence = float(np.sqrt(np.mean((X_test[:, -1] - y_test) ** 2))) * scale
    print(f"many-to-one forecasting (sunspots, next year from {window}, {cell}) held-out RMSE: "
          f"{rmse:.2f}")
    print(f"baseline (persistence: next = last) RMSE: {persistence:.2f}")
    return {"rmse": rmse, "baseline": persistence}


def main(argv: list[str] | None = None) -> dict:
    """Run both many-to-one tasks; returns their metrics and baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for tests")
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    annie.manual_seed(args.seed)
    hidden = 16 if args.quick else 64
    results = {"classification": classify_digit_rows(1 if args.quick else 15, hidden, args.cell,
                                                     args.seed),
               "forecasting": forecast_sunspots(2 if args.quick else 60, 8 if args.quick else 32,
                                                args.cell)}
    return results


if __name__ == "__main__":
    main()
