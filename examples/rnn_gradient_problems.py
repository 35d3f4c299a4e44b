"""The vanishing and exploding gradient problems of recurrent networks, measured and remedied.

Task: the adding problem (Hochreiter & Schmidhuber), as annie.data.make_adding_problem draws it
(Le et al. 2015): each sequence has T steps of two features, a random value in [0, 1) and a
marker that is 1 at one step of each half; the target is the sum of the two marked values. The
answer depends on steps up to T steps before the end, so the gradient must travel back through
time to learn it (rnn_long_memory.py shows which models then learn it).

(a) Vanishing: annie.diagnostics.gradient_flow measures ||dL/dh_t|| for every step t at
    initialisation. In a tanh RNN it shrinks by a roughly constant factor per step, so the
    ratio ||dL/dh_1|| / ||dL/dh_T|| is astronomically small (1e-13 to 1e-26 at T=100). Note
    that LSTM and GRU at PyTorch's default initialisation vanish just as fast: their gates
    start half open (sigmoid(~0) = 0.5), so the cell path also loses about half per step. The
    remedy is to start the gates on "remember": an LSTM forget-gate bias of 1-2
    (``forget_bias``) or a GRU update-gate bias, which keeps the ratio near 1e-3 to 1e-4;
    orthogonal recurrent init helps the plain RNN too. A tanh RNN with large recurrent weights
    (orthogonal x1.5) shows the opposite: the norm grows toward early steps.
(b) Exploding: that large-weight RNN trained with SGD, without and with clip_grad_norm. fit
    records the global gradient norm before clipping (History "grad_norm", "grad_norm_max") and
    the fraction of clipped steps; an infinite threshold records the norm without clipping.

    python examples/rnn_gradient_problems.py --out figures/           (about 10 s)
    python examples/rnn_gradient_problems.py --quick --out /tmp/out   (seconds)

Figures (PNG, skipped when matplotlib is missing): vanishing.png, exploding.png.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import make_adding_problem
from annie.diagnostics import gradient_flow

from _common import at_least, parse, parser
from rnn_long_memory import LastStepRegressor


def large_weight_rnn(hidden_size: int, gain: float) -> nn.RNN:
    """A tanh RNN whose recurrent matrix is orthogonal times ``gain`` (> 1: exploding)."""
    layer = nn.RNN(2, hidden_size, recurrent_init="orthogonal")
    layer.weight_hh_l0.data *= gain
    return layer


def gru_with_update_bias(hidden_size: int, bias: float) -> nn.GRU:
    """A GRU whose update gate z starts closer to 1 (keep the old state): ``bias`` is added to
    the z block of bias_ih (gate order r, z, n), the GRU's counterpart of the forget bias."""
    layer = nn.GRU(2, hidden_size)
    layer.bias_ih_l0.data[hidden_size:2 * hidden_size] += bias
    return layer


def pyplot_or_none():
    """matplotlib.pyplot (Agg), or None with a note when matplotlib is not installed."""
    try:
        from annie.diagnostics.plots import import_pyplot
        return import_pyplot("rnn_gradient_problems")
    except annie.errors.ConfigError:
        print("matplotlib is not installed: figures skipped")
        return None


def vanishing(X, y, hidden_size: int, gain: float, out: pathlib.Path, pyplot) -> dict:
    """Part (a): ||dL/dh_t|| at initialisation for several recurrent layers."""
    layers = {
        "RNN tanh (PyTorch init)": nn.RNN(2, hidden_size),
        "RNN tanh (orthogonal init)": nn.RNN(2, hidden_size, recurrent_init="orthogonal"),
        "LSTM (PyTorch init)": nn.LSTM(2, hidden_size),
        "LSTM (forget bias 1)": nn.LSTM(2, hidden_size, forget_bias=1.0),
        "LSTM (forget bias 2)": nn.LSTM(2, hidden_size, forget_bias=2.0),
        "GRU (PyTorch init)": nn.GRU(2, hidden_size),
        "GRU (update-gate bias 2)": gru_with_update_bias(hidden_size, 2.0),
        f"RNN tanh orthogonal x{gain}": large_weight_rnn(hidden_size, gain),
    }
    steps = X.shape[1]
    print(f"(a) gradient flow at initialisation, adding problem T={steps}, batch {len(X)}, "
          f"hidden {hidden_size}")
    print(f"    {'layer':<30}{'|dL/dh_1|':>12}{'|dL/dh_T|':>12}{'ratio 1/T':>12}{'per step':>10}")
    curves = {}
    for label, layer in layers.items():
        result = gradient_flow(LastStepRegressor(layer), losses.mse, X, y)
        norms = result.hidden_grad_norm["recurrent.l0"]
        ratio = result.vanishing_ratio()
        per_step = math.exp(math.log(ratio) / (steps - 1)) if ratio > 0 and steps > 1 else 0.0
        print(f"    {label:<30}{norms[0]:>12.3g}{norms[-1]:>12.3g}{ratio:>12.3g}{per_step:>10.3f}")
        curves[label] = norms
    if pyplot is not None:
        from annie.diagnostics.plots import plot_step_norms
        plot_step_norms(curves, out / "vanishing.png",
                        title=f"adding problem, T={steps}: gradient reaching step t at init")
        print(f"figure: {out / 'vanishing.png'}")
    return curves


def exploding(X, y, hidden_size: int, gain: float, epochs: int, batch_size: int,
              clip: float, out: pathlib.Path, pyplot, seed: int) -> dict:
    """Part (b): the large-weight RNN trained without clipping (infinite threshold: the norm is
    recorded, nothing is clipped) and with clip_grad_norm=clip."""
    print(f"(b) tanh RNN, orthogonal recurrent weights x{gain}, SGD lr 0.05, {epochs} epochs "
          f"of {math.ceil(len(X) / batch_size)} steps")
    histories = {}
    for label, threshold in (("no clipping", math.inf), (f"clip_grad_norm={clip}", clip)):
        annie.manual_seed(seed)
        model = LastStepRegressor(large_weight_rnn(hidden_size, gain))
        with np.errstate(over="ignore", invalid="ignore"):  # the unclipped run overflows
            history = annie.fit(model, losses.mse, optim.SGD(model.parameters(), lr=0.05), X, y,
                                epochs=epochs, batch_size=batch_size, clip_grad_norm=threshold,
                                verbose=0)
        histories[label] = history
        print(f"    {label}:")
        for epoch in range(len(history["loss"])):
            print(f"      epoch {epoch + 1}: loss {history['loss'][epoch]:.3g}, gradient norm "
                  f"before clipping mean {history['grad_norm'][epoch]:.3g} max "
                  f"{history['grad_norm_max'][epoch]:.3g}, clipped "
                  f"{history['clipped_fraction'][epoch]:.0%}")
        if history.stop_reason:
            print(f"      stopped: {history.stop_reason}")
    if pyplot is not None:
        figure, axes = pyplot.subplots(1, 2, figsize=(11, 4))
        for label, history in histories.items():
            epochs_run = np.arange(1, len(history["loss"]) + 1)
            finite = {key: np.where(np.isfinite(history[key]), history[key], np.nan)
                      for key in ("grad_norm_max", "grad_norm", "loss")}
            line, = axes[0].plot(epochs_run, finite["grad_norm_max"], "o-", label=f"{label} (max)")
            axes[0].plot(epochs_run, finite["grad_norm"], "s--", color=line.get_color(),
                         label=f"{label} (mean)")
            axes[1].plot(epochs_run, finite["loss"], "o-", label=label)
        axes[0].set_ylabel("global gradient norm before clipping")
        axes[1].set_ylabel("training loss (MSE)")
        for axis in axes:
            axis.set_yscale("log")
            axis.set_xlabel("epoch")
            axis.grid(alpha=0.3, which="both")
            axis.legend()
        figure.suptitle(f"exploding gradients: tanh RNN with recurrent weights x{gain}")
        figure.tight_layout()
        figure.savefig(out / "exploding.png", dpi=110)
        pyplot.close(figure)
        print(f"figure: {out / 'exploding.png'}")
    return histories


def main(argv=None) -> None:
    argument_parser = parser(__doc__.split("\n")[0])
    argument_parser.add_argument("--steps", type=at_least(2), default=100,
                                 help="sequence length T (default 100)")
    args = parse(argument_parser, argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pyplot = pyplot_or_none()
    annie.manual_seed(args.seed)
    samples, epochs = (128, 2) if args.quick else (512, 8)
    hidden_size, gain, clip = 32, 1.5, 1.0
    X, y = make_adding_problem(samples, args.steps)
    vanishing(X[:64], y[:64], hidden_size, gain, out, pyplot)
    exploding(X, y, hidden_size, gain, epochs, 32, clip, out, pyplot, args.seed)


if __name__ == "__main__":
    main()
