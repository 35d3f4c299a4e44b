"""One-to-many: one seed in, a sequence out.

1. Character-level text generation from the bundled Shakespeare: a CharLanguageModel learns
   p(next character | characters so far); held-out bits per character vs the unigram baseline
   (character frequencies alone), then ``generate(seed, length, temperature)`` writes a sample.
2. Continuing a time series: a SequenceRegressor trained on next-year sunspots continues the
   series ``horizon`` years from a seed window by feeding its predictions back; RMSE over every
   held-out seed window vs persistence (repeat the last known value).

    python examples/rnn_one_to_many.py [--quick] [--cell lstm|gru|rnn]
"""
from __future__ import annotations

import argparse
import math

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import CharVocab, load_shakespeare, load_sunspots, make_windows

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
    for _ in range(steps):  # random windows of the training text, targets shifted by one
        starts = generator.integers(0, len(train_ids) - seq_len - 1, size=batch_size)
        window = train_ids[starts[:, None] + np.arange(seq_len + 1)]
        logits, _ = model(window[:, :-1])
        loss = nn.sequence_cross_entropy(logits, window[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        annie.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    bits = held_out_bits_per_char(model, test_ids, seq_len)
    counts = np.bincount(train_ids, minlength=len(vocab)) + 1.0  # add-one smoothing
    unigram = -np.mean(np.log2((counts / counts.sum())[test_ids[1:]]))
    print(f"one-to-many text generation ({cell}) held-out bits per character: {bits:.3f}")
    print(f"baseline (unigram character frequencies) bits per character: {unigram:.3f}")
    sample = model.generate("ROSALIND. ", 200, temperature=0.8)
    print("sample (temperature 0.8):")
    print(sample)
    return {"bits_per_char": bits, "baseline": float(unigram), "sample": sample}


def series_continuation(epochs: int, hidden_size: int, cell: str, window: int = 12,
                        horizon: int = 10, test_years: int = 60) -> dict:
    """Continue the sunspot series ``horizon`` years from each held-out seed window."""
    series = load_sunspots()
    scale = float(series[:-test_years].std())
    scaled = series / scale
    X_train, y_train = make_windows(scaled[:-test_years], window)
    model = nn.SequenceRegressor(input_size=1, hidden_size=hidden_size, cell=cell)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    annie.fit(model, losses.mse, optimizer, X_train, y_train, epochs=epochs, batch_size=16,
              verbose=0)
    first = len(series) - test_years - window  # seed windows end inside the held-out years
    errors, persistence = [], []
    for start in range(first, len(series) - window - horizon + 1, 2):
        seed = scaled[start:start + window]
        truth = scaled[start + window:start + window + horizon]
        errors.append(model.forecast(seed, horizon) - truth)
        persistence.append(seed[-1] - truth)
    rmse = float(np.sqrt(np.mean(np.square(errors)))) * scale
    baseline = float(np.sqrt(np.mean(np.square(persistence)))) * scale
    print(f"one-to-many series continuation (sunspots, {horizon} years from a {window}-year "
          f"seed, {cell}) held-out RMSE: {rmse:.2f}")
    print(f"baseline (persistence: repeat the last value) RMSE: {baseline:.2f}")
    return {"rmse": rmse, "baseline": baseline}


def main(argv: list[str] | None = None) -> dict:
    """Run both one-to-many tasks; returns their metrics and baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for tests")
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    parser.add_argument("--steps", type=int, default=None, help="text-model training steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    annie.manual_seed(args.seed)
    if args.quick:
        text = text_generation(args.steps or 3, 16, args.cell, seq_len=16, batch_size=8,
                               train_chars=4000)
        series = series_continuation(1, 8, args.cell)
    else:
        text = text_generation(args.steps or 300, 128, args.cell)
        series = series_continuation(60, 32, args.cell)
    return {"text": text, "series": series}


if __name__ == "__main__":
    main()
