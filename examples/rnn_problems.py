"""The lecture's RNN problems, each shown by a measured experiment (one function per row).

- slow / no parallel processing: seconds per training epoch against sequence length T, for a
  tanh RNN, an LSTM and an MLP that reads the same sequence flattened;
- limited memory: recall the token seen k steps earlier, at every step of a stream, against k,
  per cell type (hidden size 32), beside an MLP that sees the last 8 tokens;
- sensitivity to noise: accuracy on digits against the noise added to the pixels, MLP vs LSTM
  (reading the image row by row), each trained on clean images and on noisy ones;
- convergence: training curves of the adding problem (T = 30) over five seeds and three
  learning rates, tanh RNN vs LSTM, with the spread between seeds;
- hard hyperparameter choice: final test loss over a learning-rate x hidden-size grid (heat map).

Long-term dependencies are in rnn_long_memory.py, vanishing and exploding gradients in
rnn_gradient_problems.py.

    python examples/rnn_problems.py --out figures/             (about 5 minutes on 2 cores)
    python examples/rnn_problems.py --only memory noise        (some of them)
    python examples/rnn_problems.py --quick --out /tmp/out     (seconds)

Figures: problem_time.png, problem_memory.png, problem_noise.png, problem_convergence.png,
problem_hyperparameters.png.
"""
from __future__ import annotations

import time

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import load_digits, make_adding_problem, make_delayed_recall, train_test_split

from _common import Progress, parse, parser, pyplot_or_none, save
from rnn_long_memory import FlatMLP, LastStepRegressor, test_mse

RECURRENT = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def train_adding(model, steps: int, length: int, lr: float, batch_size: int = 50) -> list:
    """Adam on fresh adding-problem batches, gradient norm clipped at 1; the loss per step."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    curve = []
    for _ in range(steps):
        X, y = make_adding_problem(batch_size, length)
        loss = losses.mse(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append(float(loss.data))
    return curve


# ----- slow, no parallel processing -------------------------------------------------------------
def time_per_epoch(lengths, samples: int, hidden_size: int, repeats: int, out: str) -> dict:
    """Seconds for one epoch (forward, backward, Adam step; batches of 64) against T: the
    fastest of ``repeats`` runs, each run timing every model and length in turn (so a busy
    machine slows all of them alike)."""
    models = {"RNN tanh": lambda T: LastStepRegressor(nn.RNN(8, hidden_size)),
              "LSTM": lambda T: LastStepRegressor(nn.LSTM(8, hidden_size)),
              "MLP (flattened)": lambda T: FlatMLP(T, hidden_size, features=8)}
    generator = np.random.default_rng(0)
    data = {T: (generator.standard_normal((samples, T, 8)).astype(np.float32),
                generator.standard_normal(samples).astype(np.float32)) for T in lengths}
    built = {(label, T): build(T) for label, build in models.items() for T in lengths}
    optimizers = {key: optim.Adam(model.parameters(), lr=1e-3) for key, model in built.items()}
    times = {key: [] for key in built}
    for _ in range(repeats):
        for (label, T), model in built.items():
            X, y = data[T]
            start = time.perf_counter()
            for first in range(0, samples, 64):
                loss = losses.mse(model(X[first:first + 64]), y[first:first + 64])
                optimizers[(label, T)].zero_grad()
                loss.backward()
                optimizers[(label, T)].step()
            times[(label, T)].append(time.perf_counter() - start)
    seconds = {label: [min(times[(label, T)]) for T in lengths] for label in models}
    print(f"slow / no parallelism: seconds per epoch of {samples} sequences (8 features), "
          f"hidden {hidden_size}, fastest of {repeats}")
    print(f"  {'T':>5}" + "".join(f"{label:>18}" for label in models))
    for index, length in enumerate(lengths):
        print(f"  {length:>5}" + "".join(f"{seconds[label][index]:>18.4f}" for label in models))
    for label in ("RNN tanh", "LSTM"):
        slope = np.polyfit(lengths, seconds[label], 1)[0]
        print(f"  {label}: {1000 * slope / (samples / 64):.3f} ms more per batch for each extra "
              f"step (T steps run one after another)")
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axis = pyplot.subplots(figsize=(6.4, 4))
        for label, values in seconds.items():
            axis.plot(lengths, values, "o-", label=label)
        axis.set(xlabel="sequence length T", ylabel="seconds per epoch",
                 title="time per epoch: the recurrence runs step after step")
        axis.grid(alpha=0.3)
        axis.legend()
        save(figure, out, "problem_time.png")
    return {"lengths": list(lengths), "seconds": seconds}


# ----- limited memory ---------------------------------------------------------------------------
def recall_accuracy(predicted: np.ndarray, targets: np.ndarray) -> float:
    mask = targets != -100
    return float(np.mean(predicted[mask] == targets[mask]))


def window_mlp_recall(delay: int, window: int, vocab: int, steps: int) -> float:
    """An MLP that sees only the last ``window`` tokens (one-hot) at each step."""
    def windows(count: int):
        tokens, targets = make_delayed_recall(count, delay + 32, delay, vocab)
        padded = np.concatenate([np.zeros((count, window - 1), np.int64) - 1, tokens], axis=1)
        X = np.stack([padded[:, t:t + window] for t in range(tokens.shape[1])], axis=1)
        one_hot = (X[..., None] == np.arange(vocab)).reshape(count * tokens.shape[1], -1)
        return one_hot.astype(np.float32), targets.reshape(-1)

    model = nn.Sequential(nn.Linear(window * vocab, 64), nn.ReLU(), nn.Linear(64, vocab))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        X, y = windows(32)
        keep = y != -100
        loss = losses.cross_entropy(model(X[keep]), y[keep])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    X, y = windows(256)
    return recall_accuracy(annie.predict(model, X).argmax(axis=1), y)


def limited_memory(delays, cells, hidden_size: int, steps: int, window: int, out: str,
                   vocab: int = 4) -> dict:
    """Per-step recall of the token ``delay`` steps back: accuracy on fresh streams."""
    print(f"limited memory: recall the token k steps back ({vocab} symbols, chance "
          f"{1 / vocab:.2f}), hidden {hidden_size}, {steps} training steps each")
    results = {}
    for cell in cells:
        results[cell.upper()] = []
        progress = Progress(f"{cell} recall", len(delays), seconds=10.0)
        for number, delay in enumerate(delays):
            annie.manual_seed(number)
            model = nn.SequenceTagger(vocab_size=vocab, embedding_dim=8, hidden_size=hidden_size,
                                      num_tags=vocab, cell=cell, bidirectional=False)
            optimizer = optim.Adam(model.parameters(), lr=3e-3)
            for _ in range(steps):
                tokens, targets = make_delayed_recall(32, delay + 32, delay, vocab)
                loss = nn.sequence_cross_entropy(model(tokens), targets)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            tokens, targets = make_delayed_recall(256, delay + 32, delay, vocab)
            results[cell.upper()].append(
                recall_accuracy(annie.predict(model, tokens).argmax(axis=-1), targets))
            progress.update(number + 1, f"k={delay}: {results[cell.upper()][-1]:.3f}")
    label = f"MLP (last {window} tokens)"
    results[label] = [window_mlp_recall(delay, window, vocab, steps) for delay in delays]
    print(f"  {'k':>4}" + "".join(f"{name:>22}" for name in results))
    for index, delay in enumerate(delays):
        print(f"  {delay:>4}" + "".join(f"{values[index]:>22.3f}" for values in results.values()))
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axis = pyplot.subplots(figsize=(6.4, 4))
        for name, values in results.items():
            axis.plot(delays, values, "o-", label=name)
        axis.axhline(1 / vocab, color="black", linestyle="--", label="chance")
        axis.set(xlabel="k: steps between seeing a token and recalling it",
                 ylabel="held-out recall accuracy", xticks=delays,
                 title=f"limited memory: a state of {hidden_size} numbers")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        save(figure, out, "problem_memory.png")
    return {"delays": list(delays), "accuracy": results}


# ----- sensitivity to noise -----------------------------------------------------------------
def noise_sensitivity(levels, epochs: int, train_noise: float, out: str, seed: int,
                      max_train: int | None = None) -> dict:
    """Accuracy on held-out digits with Gaussian noise of std ``level`` added to the pixels
    (scaled to [0, 1]), for models trained on clean images and on images with noise."""
    X, y = load_digits()
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=True,
                                                        seed=seed)
    X_train, y_train = X_train[:max_train], y_train[:max_train]
    generator = np.random.default_rng(seed)

    def noisy(images, level):
        return (images + level * generator.standard_normal(images.shape)).astype(np.float32)

    builders = {"MLP": lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)),
                "LSTM (rows)": lambda: nn.SequenceClassifier(input_size=8, hidden_size=64,
                                                             num_classes=10)}
    shapes = {"MLP": (-1, 64), "LSTM (rows)": (-1, 8, 8)}
    results = {}
    for name, build in builders.items():
        for noise in (0.0, train_noise):
            annie.manual_seed(seed)
            model = build()
            copies = 1 if noise == 0 else 4  # noisy copies of every training image
            inputs = np.concatenate([noisy(X_train, noise) for _ in range(copies)])
            annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=3e-3),
                      inputs.reshape(shapes[name]), np.tile(y_train, copies), epochs=epochs,
                      batch_size=32, verbose=0)
            label = f"{name}, trained {'clean' if noise == 0 else f'with noise {noise}'}"
            print(f"  trained {label}", flush=True)
            results[label] = [float(np.mean([np.mean(annie.predict(
                model, noisy(X_test, level).reshape(shapes[name])).argmax(axis=1) == y_test)
                for _ in range(3)])) for level in levels]
    print("sensitivity to noise: held-out digit accuracy against the std of Gaussian noise "
          "added to the pixels (in [0, 1])")
    print(f"  {'noise':>6}" + "".join(f"  {label:>32}" for label in results))
    for index, level in enumerate(levels):
        print(f"  {level:>6}" + "".join(f"  {values[index]:>32.3f}"
                                        for values in results.values()))
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axis = pyplot.subplots(figsize=(6.4, 4))
        for label, values in results.items():
            axis.plot(levels, values, "o-" if "clean" in label else "s--", label=label)
        axis.set(xlabel="std of the noise added to each pixel", ylabel="held-out accuracy",
                 title="sensitivity to noise (digits)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        save(figure, out, "problem_noise.png")
    return {"levels": list(levels), "accuracy": results}


# ----- convergence ------------------------------------------------------------------------
def convergence(lrs, seeds: int, steps: int, length: int, hidden_size: int, out: str) -> dict:
    """Training curves over seeds and learning rates; final test MSE and the spread."""
    X_test, y_test = make_adding_problem(500, length)
    curves, finals = {}, {}
    print(f"convergence: adding problem T={length}, hidden {hidden_size}, {steps} steps, "
          f"{seeds} seeds per learning rate (baseline MSE 0.167)")
    print(f"  {'model':<10}{'lr':>8}{'median final':>14}{'best':>8}{'worst':>8}"
          f"{'seeds < 0.05':>14}")
    for cell in ("rnn", "lstm"):
        for lr in lrs:
            runs, ends = [], []
            for seed in range(seeds):
                annie.manual_seed(100 + seed)
                model = LastStepRegressor(RECURRENT[cell](2, hidden_size))
                runs.append(train_adding(model, steps, length, lr))
                ends.append(test_mse(model, X_test, y_test))
            key = (cell.upper(), lr)
            curves[key], finals[key] = np.array(runs), ends
            print(f"  {cell.upper():<10}{lr:>8g}{np.median(ends):>14.4f}{min(ends):>8.4f}"
                  f"{max(ends):>8.4f}{sum(e < 0.05 for e in ends):>10}/{seeds}")
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axes = pyplot.subplots(1, 2, figsize=(11, 4), sharey=True)
        for axis, cell in zip(axes, ("RNN", "LSTM")):
            for lr in lrs:
                runs = curves[(cell, lr)]
                kernel = np.ones(20) / 20 if runs.shape[1] >= 20 else np.ones(1)
                smooth = np.array([np.convolve(run, kernel, mode="valid") for run in runs])
                steps_axis = np.arange(smooth.shape[1]) + len(kernel)
                line, = axis.plot(steps_axis, np.median(smooth, axis=0), label=f"lr {lr:g}")
                axis.fill_between(steps_axis, smooth.min(axis=0), smooth.max(axis=0),
                                  color=line.get_color(), alpha=0.2)
            axis.axhline(1 / 6, color="black", linestyle="--", label="baseline 0.167")
            axis.set(yscale="log", xlabel="training step", title=f"{cell}: median and range "
                                                                 f"over {seeds} seeds")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize=8)
        axes[0].set_ylabel("training MSE (moving mean of 20 steps)")
        save(figure, out, "problem_convergence.png")
    return {"finals": {f"{cell} lr={lr:g}": ends for (cell, lr), ends in finals.items()}}


# ----- hard hyperparameter choice -------------------------------------------------------------
def hyperparameter_grid(lrs, hidden_sizes, steps: int, length: int, out: str) -> dict:
    """Final test MSE of the adding problem over a learning-rate x hidden-size grid."""
    X_test, y_test = make_adding_problem(500, length)
    grids = {}
    for cell in ("rnn", "lstm"):
        grid = np.zeros((len(hidden_sizes), len(lrs)))
        progress = Progress(f"{cell} grid", grid.size, seconds=10.0)
        for row, hidden in enumerate(hidden_sizes):
            for column, lr in enumerate(lrs):
                annie.manual_seed(7)
                model = LastStepRegressor(RECURRENT[cell](2, hidden))
                train_adding(model, steps, length, lr)
                grid[row, column] = test_mse(model, X_test, y_test)
                progress.update(row * len(lrs) + column + 1)
        grids[cell.upper()] = grid
        print(f"hard hyperparameter choice: {cell.upper()} test MSE, adding problem T={length}, "
              f"{steps} steps (rows: hidden size, columns: learning rate)")
        print("  " + f"{'hidden':>7}" + "".join(f"{lr:>9g}" for lr in lrs))
        for hidden, values in zip(hidden_sizes, grid):
            print("  " + f"{hidden:>7}" + "".join(f"{value:>9.4f}" for value in values))
        print(f"  cells below 0.05: {int((grid < 0.05).sum())} of {grid.size}")
    pyplot = pyplot_or_none()
    if pyplot is not None:
        figure, axes = pyplot.subplots(1, 2, figsize=(11, 4), layout="constrained")
        for axis, (cell, grid) in zip(axes, grids.items()):
            image = axis.imshow(np.log10(np.maximum(grid, 1e-6)), cmap="viridis_r",
                                vmin=-4, vmax=0, aspect="auto")
            for (row, column), value in np.ndenumerate(grid):
                axis.text(column, row, f"{value:.3f}", ha="center", va="center", fontsize=7,
                          color="white" if value < 0.01 else "black")
            axis.set(xticks=range(len(lrs)), xticklabels=[f"{lr:g}" for lr in lrs],
                     yticks=range(len(hidden_sizes)), yticklabels=hidden_sizes,
                     xlabel="learning rate (Adam)", ylabel="hidden size",
                     title=f"{cell}: test MSE after {steps} steps")
        figure.colorbar(image, ax=axes, label="log10 test MSE")
        save(figure, out, "problem_hyperparameters.png")
    return {"lrs": list(lrs), "hidden_sizes": list(hidden_sizes),
            "mse": {cell: grid.tolist() for cell, grid in grids.items()}}


EXPERIMENTS = ("time", "memory", "noise", "convergence", "grid")


def main(argv=None) -> dict:
    """Run the chosen experiments (all by default); prints their tables, saves the figures."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=EXPERIMENTS)
    args = parse(argument_parser, argv)
    quick, out, results = args.quick, args.out, {}
    for name in args.only:
        annie.manual_seed(args.seed)
        start = time.perf_counter()
        if name == "time":
            results[name] = time_per_epoch([5, 10, 20] if quick else [10, 25, 50, 100, 200],
                                           64 if quick else 512, 16 if quick else 64,
                                           1 if quick else 5, out)
        elif name == "memory":
            results[name] = limited_memory([1, 4] if quick else [2, 4, 8, 12, 16, 24],
                                           ["rnn", "lstm"] if quick else ["rnn", "gru", "lstm"],
                                           8 if quick else 32, 5 if quick else 1200,
                                           2 if quick else 8, out)
        elif name == "noise":
            results[name] = noise_sensitivity([0.0, 0.5] if quick else
                                              [0.0, 0.1, 0.2, 0.3, 0.5, 0.8],
                                              1 if quick else 15, 0.3, out, args.seed,
                                              max_train=200 if quick else None)
        elif name == "convergence":
            results[name] = convergence([1e-2] if quick else [1e-3, 3e-3, 1e-2],
                                        2 if quick else 5, 5 if quick else 600,
                                        10 if quick else 30, 8 if quick else 32, out)
        else:
            results[name] = hyperparameter_grid([1e-3, 1e-2] if quick else
                                                [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
                                                [4, 8] if quick else [8, 16, 32, 64],
                                                5 if quick else 400, 10 if quick else 30, out)
        print(f"({name}: {time.perf_counter() - start:.0f} s)\n")
    return results


if __name__ == "__main__":
    main()
