"""Long-term dependencies, measured: the adding problem at T = 100.

The adding problem (Hochreiter & Schmidhuber 1997) in the form of Le, Jaitly & Hinton (2015)
and Arjovsky et al. (2016): each sequence has T = 100 steps of two features, a value from
U(0, 1) and a marker that is 1 at one step of the first half and one step of the second half;
the target is the sum of the two marked values. The first marked value lies on average 75 steps
before the end, so a model must carry it that long. Predicting the mean (1) gives test MSE
1/6 = 0.167: a model whose curve stays on that line has learnt nothing.

Every model reads fresh batches of 50 (Adam, lr 1e-3, gradient norm clipped at 1) and is scored
on 1,000 held-out sequences every few hundred steps. The table also gives the gradient ratio
||dL/dh_1|| / ||dL/dh_T|| at initialisation (annie.diagnostics.gradient_flow), to compare what a
remedy does at step 0 with what the model then learns.

    python examples/rnn_long_memory.py --out figures/            (about 9 minutes on 2 cores)
    python examples/rnn_long_memory.py --models lstm irnn --steps 3000
    python examples/rnn_long_memory.py --quick --out /tmp/out     (seconds)

Figure: adding_problem.png (test MSE against training steps, the 0.167 baseline dashed).
"""
from __future__ import annotations

import time

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import ADDING_BASELINE_MSE, make_adding_problem
from annie.diagnostics import gradient_flow

from _common import Progress, at_least, parse, parser, pyplot_or_none, quick_or_full, save


class LastStepRegressor(nn.Module):
    """A recurrent layer read out at its last step: y_hat = w . h_T + b, shape (batch,)."""

    def __init__(self, recurrent: nn.Module):
        super().__init__()
        self.recurrent = recurrent
        self.head = nn.Linear(recurrent.hidden_size, 1)

    def forward(self, x):
        output, _ = self.recurrent(x)
        return self.head(output[:, -1])[:, 0]


class FlatMLP(nn.Module):
    """An MLP on the whole sequence flattened to T * features numbers: no order, no state."""

    def __init__(self, steps: int, hidden_size: int, features: int = 2):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(features * steps, hidden_size),
                                 nn.ReLU(), nn.Linear(hidden_size, 1))

    def forward(self, x):
        return self.net(x)[:, 0]


MODELS = {
    "lstm": ("LSTM", lambda hidden, steps: LastStepRegressor(nn.LSTM(2, hidden))),
    "lstm_forget_bias": ("LSTM (forget bias 1)",
                         lambda hidden, steps: LastStepRegressor(nn.LSTM(2, hidden,
                                                                         forget_bias=1.0))),
    "gru": ("GRU", lambda hidden, steps: LastStepRegressor(nn.GRU(2, hidden))),
    "irnn": ("IRNN (ReLU, identity init)",
             lambda hidden, steps: LastStepRegressor(nn.RNN(2, hidden, nonlinearity="relu",
                                                            recurrent_init="identity"))),
    "rnn": ("RNN tanh", lambda hidden, steps: LastStepRegressor(nn.RNN(2, hidden))),
    "rnn_orthogonal": ("RNN tanh (orthogonal init)",
                       lambda hidden, steps: LastStepRegressor(
                           nn.RNN(2, hidden, recurrent_init="orthogonal"))),
    "mlp": ("MLP (flattened sequence)", lambda hidden, steps: FlatMLP(steps, hidden)),
}


def test_mse(model, X, y) -> float:
    """Mean squared error on held-out sequences, in evaluation mode without a graph."""
    model.eval()
    with annie.no_grad():
        error = model(X).data - y
    model.train()
    return float(np.mean(error.astype(np.float64) ** 2))


def train_on_adding(key: str, steps: int, length: int, hidden_size: int, batch_size: int,
                    lr: float, clip: float, eval_every: int, X_test, y_test) -> dict:
    """Train one model on fresh batches; its test-MSE curve, gradient ratio at init and time."""
    label, build = MODELS[key]
    model = build(hidden_size, length)
    ratio = None
    if key != "mlp":
        ratio = gradient_flow(model, losses.mse, X_test[:64], y_test[:64]).vanishing_ratio()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    curve_steps, curve = [0], [test_mse(model, X_test, y_test)]
    progress = Progress(label, steps)
    seconds = 0.0
    for step in range(1, steps + 1):
        X, y = make_adding_problem(batch_size, length)
        start = time.perf_counter()
        loss = losses.mse(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        seconds += time.perf_counter() - start
        if step % eval_every == 0 or step == steps:
            curve_steps.append(step)
            curve.append(test_mse(model, X_test, y_test))
            progress.update(step, f"test MSE {curve[-1]:.4f}")
    below = [s for s, value in zip(curve_steps, curve) if value < 0.05]
    return {"label": label, "steps": curve_steps, "mse": curve, "ratio": ratio,
            "first_below_0.05": below[0] if below else None, "final": curve[-1],
            "seconds_per_step": seconds / steps}


def print_table(results: dict, steps: int) -> None:
    """The measured table: one row per model."""
    print(f"\nadding problem, test MSE after {steps} steps (baseline: predict 1, "
          f"MSE {ADDING_BASELINE_MSE:.3f})")
    print(f"{'model':<28}{'|dL/dh_1|/|dL/dh_T| at init':>28}{'first step < 0.05':>19}"
          f"{'final test MSE':>16}{'ms / step':>11}")
    for result in results.values():
        ratio = "-" if result["ratio"] is None else f"{result['ratio']:.2g}"
        first = result["first_below_0.05"] or "never"
        print(f"{result['label']:<28}{ratio:>28}{first!s:>19}{result['final']:>16.4f}"
              f"{1000 * result['seconds_per_step']:>11.1f}")


def plot(results: dict, length: int, out: str) -> None:
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axis = pyplot.subplots(figsize=(7.5, 4.6))
    for result in results.values():
        axis.plot(result["steps"], result["mse"], label=result["label"])
    axis.axhline(ADDING_BASELINE_MSE, color="black", linestyle="--",
                 label=f"baseline (predict 1): {ADDING_BASELINE_MSE:.3f}")
    axis.set(yscale="log", xlabel="training step (batch of 50)", ylabel="test MSE",
             title=f"adding problem, T = {length}: who carries a value {3 * length // 4} "
                   f"steps on average?")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    save(figure, out, "adding_problem.png")


def main(argv=None) -> dict:
    """Train the chosen models on the adding problem; prints the table, saves the figure."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--models", nargs="+", choices=sorted(MODELS),
                                 default=list(MODELS), help="which models to train")
    argument_parser.add_argument("--steps", type=at_least(1), default=None,
                                 help="training steps per model (default 4000; quick 30)")
    argument_parser.add_argument("--length", type=at_least(2), default=None,
                                 help="sequence length T (default 100; quick 20)")
    argument_parser.add_argument("--hidden-size", type=at_least(1), default=None,
                                 help="hidden units (default 128; quick 16)")
    args = parse(argument_parser, argv)
    args.length = quick_or_full(args.length, args.quick, 20, 100)
    steps = quick_or_full(args.steps, args.quick, 30, 4000)
    hidden_size = quick_or_full(args.hidden_size, args.quick, 16, 128)
    annie.manual_seed(args.seed)
    X_test, y_test = make_adding_problem(200 if args.quick else 1000, args.length)
    results = {}
    for key in args.models:
        annie.manual_seed(args.seed + 1)
        results[key] = train_on_adding(key, steps, args.length, hidden_size, batch_size=50,
                                       lr=1e-3, clip=1.0,
                                       eval_every=10 if args.quick else 100,
                                       X_test=X_test, y_test=y_test)
    print_table(results, steps)
    plot(results, args.length, args.out)
    return results


if __name__ == "__main__":
    main()
