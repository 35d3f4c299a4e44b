"""Many-to-one: a sequence in, one output out.

1. Sentiment analysis, the lecture's example: real movie-review sentences (bundled; Hutto &
   Gilbert 2014, text from Pang & Lee 2005), positive or negative. A word-level LSTM reads each
   sentence (an Embedding, then the recurrent layer over the real words only: variable
   lengths) and classifies its last state. Beside it, on the same split: a bag-of-words MLP
   (which words occur, in no order) and the majority class.
2. Sequence classification: each 8x8 digit is read row by row as an 8-step sequence of 8 pixels;
   an LSTM's last state is classified (held-out accuracy vs the majority class).
3. Next-value forecasting: the past ``window`` years of sunspot numbers -> the next year
   (held-out RMSE vs the persistence baseline "next year = this year").

    python examples/rnn_many_to_one.py [--quick] [--cell lstm|gru|rnn] [--out DIR]

Figure: many_to_one_sentiment.png (validation accuracy per epoch of both sentiment models).
"""
from __future__ import annotations

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import (load_digits, load_sentiment_task, load_sunspots, make_windows,
                        train_test_split)

from _common import Progress, parse, parser, pyplot_or_none, save


class BagOfWordsMLP(nn.Module):
    """Which words a sentence holds (0/1 per vocabulary word, order lost) -> hidden -> logits."""

    def __init__(self, vocab, hidden_size: int):
        super().__init__()
        self.vocab = vocab
        self.net = nn.Sequential(nn.Linear(len(vocab), hidden_size), nn.ReLU(), nn.Dropout(0.5),
                                 nn.Linear(hidden_size, 2))

    def forward(self, ids, lengths=None):
        return self.net(self.vocab.bag_of_words(np.asarray(ids)))


def accuracy(model, X, lengths, y, batch_size: int = 256) -> float:
    """Held-out accuracy, evaluated in batches without a graph."""
    model.eval()
    correct = 0
    with annie.no_grad():
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            width = int(lengths[rows].max())
            logits = model(X[rows, :width], lengths=lengths[rows]).data
            correct += int(np.sum(logits.argmax(axis=1) == y[rows]))
    model.train()
    return correct / len(X)


def train_sentiment_model(label, model, task, epochs: int, lr: float, batch_size: int = 32,
                          validation: int = 800) -> dict:
    """Adam on shuffled batches (each cut to its longest sentence); the weights of the epoch
    with the best validation accuracy (the last ``validation`` training sentences) are kept."""
    X, lengths, y = task.X_train, task.lengths_train, task.y_train
    fit_rows = np.arange(len(X) - validation)
    held = slice(len(X) - validation, len(X))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    generator = annie.backend.rng()
    best, best_state, curve = -1.0, None, []
    progress = Progress(label, epochs, seconds=2.0)
    for epoch in range(epochs):
        order = generator.permutation(fit_rows)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = int(lengths[rows].max())
            loss = losses.cross_entropy(model(X[rows, :width], lengths=lengths[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
        curve.append(accuracy(model, X[held], lengths[held], y[held]))
        if curve[-1] > best:
            best, best_state = curve[-1], {k: v.copy() for k, v in model.state_dict().items()}
        progress.update(epoch + 1, f"validation accuracy {curve[-1]:.4f}")
    model.load_state_dict(best_state)
    return {"validation": curve, "best_epoch": int(np.argmax(curve)) + 1,
            "accuracy": accuracy(model, task.X_test, task.lengths_test, task.y_test)}


def sentiment(epochs: int, hidden_size: int, cell: str, seed: int,
              max_samples: int | None = None) -> dict:
    """The recurrent classifier and the bag-of-words MLP on one split of the movie reviews."""
    task = load_sentiment_task(test_size=0.2, seed=seed, min_count=2, max_length=50,
                               max_samples=max_samples)
    print(f"sentiment: {len(task.y_train)} training and {len(task.y_test)} held-out sentences, "
          f"vocabulary {len(task.vocab)} words, median length "
          f"{int(np.median(task.lengths_train))} words")
    annie.manual_seed(seed)
    recurrent = nn.SequenceClassifier(vocab_size=len(task.vocab), embedding_dim=64,
                                      hidden_size=hidden_size, num_classes=2, padding_idx=0,
                                      cell=cell)
    validation = min(800, len(task.y_train) // 5)
    rnn = train_sentiment_model(f"{cell} classifier", recurrent, task, epochs, 2e-3,
                                validation=validation)
    annie.manual_seed(seed)
    mlp = train_sentiment_model("bag-of-words MLP", BagOfWordsMLP(task.vocab, hidden_size), task,
                                epochs, 1e-3, validation=validation)
    baseline = task.majority_baseline()
    print(f"many-to-one sentiment analysis (movie reviews, word-level {cell}) held-out accuracy: "
          f"{rnn['accuracy']:.4f} (best validation epoch {rnn['best_epoch']})")
    print(f"baseline (majority class) accuracy: {baseline:.4f}")
    print(f"bag-of-words MLP on the same split, held-out accuracy: {mlp['accuracy']:.4f} "
          f"(best validation epoch {mlp['best_epoch']})")
    return {"rnn": rnn, "mlp": mlp, "baseline": baseline, "cell": cell}


def plot_sentiment(result: dict, out: str) -> None:
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axis = pyplot.subplots(figsize=(6.4, 4))
    for key, label in (("rnn", f"{result['cell']} classifier (word order)"),
                       ("mlp", "bag-of-words MLP (no order)")):
        curve = result[key]["validation"]
        axis.plot(range(1, len(curve) + 1), curve, "o-",
                  label=f"{label}: held-out {result[key]['accuracy']:.3f}")
    axis.axhline(result["baseline"], color="black", linestyle="--",
                 label=f"majority class {result['baseline']:.3f}")
    axis.set(xlabel="epoch", ylabel="validation accuracy",
             title="many-to-one: sentiment of movie-review sentences")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save(figure, out, "many_to_one_sentiment.png")


def classify_digit_rows(epochs: int, hidden_size: int, cell: str, seed: int,
                        verbose: int = 0) -> dict:
    """Digits as 8 rows of 8 pixels through a SequenceClassifier; accuracy and baseline."""
    X, y = load_digits()
    X = (X / 16.0).reshape(-1, 8, 8)  # (samples, time = row, features = pixels in the row)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=True,
                                                        seed=seed)
    model = nn.SequenceClassifier(input_size=8, hidden_size=hidden_size, num_classes=10,
                                  cell=cell)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.cross_entropy, optimizer, X_train, y_train, epochs=epochs,
              batch_size=32, verbose=verbose)
    accuracy = annie.evaluate(model, None, X_test, y_test, metrics=["accuracy"])["accuracy"]
    majority = np.bincount(y_train).argmax()
    baseline = float(np.mean(y_test == majority))
    print(f"many-to-one classification (digits row by row, {cell}) held-out accuracy: "
          f"{accuracy:.4f}")
    print(f"baseline (majority class) accuracy: {baseline:.4f}")
    return {"accuracy": accuracy, "baseline": baseline}


def sunspot_splits(window: int, test_years: int):
    """Sunspot windows split in time, in sunspot numbers: (X_train, y_train, X_test, y_test,
    loc, scale), loc and scale being the training years' mean and standard deviation."""
    series = load_sunspots()
    loc, scale = float(series[:-test_years].mean()), float(series[:-test_years].std())
    X, y = make_windows(series, window)
    cut = len(X) - test_years
    return X[:cut], y[:cut], X[cut:], y[cut:], loc, scale


def forecast_sunspots(epochs: int, hidden_size: int, cell: str, window: int = 12,
                      test_years: int = 60) -> dict:
    """Next-year sunspot forecasts; RMSE (in sunspot numbers) and the persistence baseline.
    The model standardises its windows, (x - loc) / scale, and answers loc + scale * y."""
    X_train, y_train, X_test, y_test, loc, scale = sunspot_splits(window, test_years)
    model = nn.SequenceRegressor(input_size=1, hidden_size=hidden_size, cell=cell, scale=scale,
                                 loc=loc)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.mse, optimizer, X_train, y_train, epochs=epochs, batch_size=16,
              verbose=0)
    prediction = annie.predict(model, X_test)
    rmse = float(np.sqrt(np.mean((prediction - y_test) ** 2)))
    persistence = float(np.sqrt(np.mean((X_test[:, -1] - y_test) ** 2)))
    print(f"many-to-one forecasting (sunspots, next year from {window}, {cell}) held-out RMSE: "
          f"{rmse:.2f}")
    print(f"baseline (persistence: next = last) RMSE: {persistence:.2f}")
    return {"rmse": rmse, "baseline": persistence}


def main(argv: list[str] | None = None) -> dict:
    """Run the three many-to-one tasks; returns their metrics and baselines."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    args = parse(argument_parser, argv)
    annie.manual_seed(args.seed)
    hidden = 16 if args.quick else 64
    results = {"sentiment": sentiment(1 if args.quick else 8, hidden, args.cell, args.seed,
                                      max_samples=600 if args.quick else None)}
    plot_sentiment(results["sentiment"], args.out)
    annie.manual_seed(args.seed)
    results["classification"] = classify_digit_rows(1 if args.quick else 15, hidden, args.cell,
                                                    args.seed, verbose=0 if args.quick else 2)
    results["forecasting"] = forecast_sunspots(2 if args.quick else 60, 8 if args.quick else 32,
                                               args.cell)
    return results


if __name__ == "__main__":
    main()
