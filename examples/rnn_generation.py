"""Generation from a seed: a model trained one step ahead writes a sequence by feeding its own
outputs back.

A language model reads a sequence (the seed) before it writes, so strictly it is a many-to-many
model run one step at a time; the lecture's one-to-many example, text from one image, is
``rnn_one_to_many.py``.

1. Character-level text generation from the bundled Shakespeare: a CharLanguageModel learns
   p(next character | characters so far); held-out bits per character vs the unigram baseline
   (character frequencies alone), then ``generate(seed, length, temperature)`` writes a sample.
2. Continuing a time series: a SequenceRegressor trained on next-year sunspots continues the
   series ``horizon`` years from a seed window by feeding its predictions back; RMSE over every
   held-out seed window vs persistence (repeat the last known value).

    python examples/rnn_generation.py [--quick] [--cell lstm|gru|rnn] [--out DIR]

Figure: generation_sunspots.png (the held-out sunspot years and the continued series).
"""
from __future__ import annotations

import math

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import CharVocab, load_shakespeare, load_sunspots, make_windows

from _common import Progress, at_least, parse, parser, pyplot_or_none, quick_or_full, save

LOG2 = math.log(2.0)


def held_out_bits_per_char(model, ids: np.ndarray, seq_len: int) -> float:
    """Mean -log2 p(x_{t+1} | x_<=t) over ``ids``, read in chunks of ``seq_len``."""
    chunks = (len(ids) - 1) // seq_len
    inputs = ids[:chunks * seq_len].reshape(chunks, seq_len)
    targets = ids[1:chunks * seq_len + 1].reshape(chunks, seq_len)
    model.eval()
    with annie.no_grad():
        logits, _ = model(inputs)
        loss = float(nn.sequence_cross_entropy(logits, targets).data)
    model.train()
    return loss / LOG2


def text_generation(steps: int, hidden_size: int, cell: str, seq_len: int = 64,
                    batch_size: int = 32, train_chars: int | None = None) -> dict:
    """Train the character model for ``steps`` mini-batches; bits/char, baseline and a sample."""
    text = load_shakespeare()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * 0.9)
    train_ids, test_ids = ids[:split], ids[split:]
    if train_chars is not None:
        train_ids, test_ids = train_ids[:train_chars], test_ids[:train_chars // 4]
    model = nn.CharLanguageModel(len(vocab), hidden_size=hidden_size, embedding_dim=32,
                                 cell=cell, chars="".join(vocab.chars))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    generator = annie.backend.rng()
    progress = Progress("text model", steps)
    for step in range(steps):  # random windows of the training text, targets shifted by one
        starts = generator.integers(0, len(train_ids) - seq_len - 1, size=batch_size)
        window = train_ids[starts[:, None] + np.arange(seq_len + 1)]
        logits, _ = model(window[:, :-1])
        loss = nn.sequence_cross_entropy(logits, window[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        annie.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        progress.update(step + 1, f"training loss {float(loss.data):.3f}")
    bits = held_out_bits_per_char(model, test_ids, seq_len)
    counts = np.bincount(train_ids, minlength=len(vocab)) + 1.0  # add-one smoothing
    unigram = -np.mean(np.log2((counts / counts.sum())[test_ids[1:]]))
    print(f"generation from a seed, text ({cell}) held-out bits per character: {bits:.3f}")
    print(f"baseline (unigram character frequencies) bits per character: {unigram:.3f}")
    sample = model.generate("ROSALIND. ", 200, temperature=0.8)
    print("sample (temperature 0.8):")
    print(sample)
    return {"bits_per_char": bits, "baseline": float(unigram), "sample": sample}


def series_continuation(epochs: int, hidden_size: int, cell: str, window: int = 12,
                        horizon: int = 10, test_years: int = 60) -> dict:
    """Continue the sunspot series ``horizon`` years from each held-out seed window."""
    series = load_sunspots()
    training = series[:-test_years]  # the model's level and unit: it reads (x - loc) / scale
    loc, scale = float(training.mean()), float(training.std())
    X_train, y_train = make_windows(training, window)
    model = nn.SequenceRegressor(input_size=1, hidden_size=hidden_size, cell=cell, scale=scale,
                                 loc=loc)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.mse, optimizer, X_train, y_train, epochs=epochs, batch_size=16,
              verbose=0)
    first = len(series) - test_years - window  # seed windows end inside the held-out years
    errors, persistence, paths = [], [], []
    for start in range(first, len(series) - window - horizon + 1, 2):
        seed = series[start:start + window]
        truth = series[start + window:start + window + horizon]
        forecast = model.forecast(seed, horizon)  # in sunspot numbers
        errors.append(forecast - truth)
        persistence.append(seed[-1] - truth)
        paths.append((start + window, forecast))
    rmse = float(np.sqrt(np.mean(np.square(errors))))
    baseline = float(np.sqrt(np.mean(np.square(persistence))))
    print(f"generation from a seed, series continuation (sunspots, {horizon} years from a "
          f"{window}-year seed, {cell}) held-out RMSE: {rmse:.2f}")
    print(f"baseline (persistence: repeat the last value) RMSE: {baseline:.2f}")
    return {"rmse": rmse, "baseline": baseline, "series": series, "paths": paths,
            "first_test": len(series) - test_years}


def plot_continuation(result: dict, out: str) -> None:
    """The sunspot series and, from every fourth held-out seed window, the model's continuation."""
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    series = result["series"]
    figure, axis = pyplot.subplots(figsize=(8, 3.8))
    axis.plot(np.arange(len(series)) + 1700, series, color="black", linewidth=1, label="observed")
    for number, (start, path) in enumerate(result["paths"][::4]):
        axis.plot(np.arange(start, start + len(path)) + 1700, path, color="tab:orange",
                  label="continued by the model" if number == 0 else None)
    axis.axvline(result["first_test"] + 1700, color="grey", linestyle=":",
                 label="held-out years begin")
    axis.set(xlabel="year", ylabel="sunspot number", title="generation from a seed window")
    axis.legend(fontsize=8)
    save(figure, out, "generation_sunspots.png")


def main(argv: list[str] | None = None) -> dict:
    """Run both generation tasks; returns their metrics and baselines."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    argument_parser.add_argument("--steps", type=at_least(1), default=None,
                                 help="text-model training steps")
    args = parse(argument_parser, argv)
    annie.manual_seed(args.seed)
    steps = quick_or_full(args.steps, args.quick, 3, 300)
    if args.quick:
        text = text_generation(steps, 16, args.cell, seq_len=16, batch_size=8,
                               train_chars=4000)
        series = series_continuation(1, 8, args.cell)
    else:
        text = text_generation(steps, 128, args.cell)
        series = series_continuation(60, 32, args.cell)
    plot_continuation(series, args.out)
    return {"text": text, "series": series}


if __name__ == "__main__":
    main()
