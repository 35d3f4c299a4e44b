"""The recurrent sweep: one layer's forward and backward pass (output.sum().backward(), input
not requiring a gradient) over hidden sizes H x batch sizes B, T = 50 steps of 16 features,
float32, for RNN (tanh), LSTM and GRU; annie, PyTorch and annie's floor (the layer's BLAS calls
alone, ``floor.py``) interleaved per cell. ``format_grid`` prints one H x B grid per layer kind
with annie/PyTorch and, in brackets, floor/PyTorch."""
from __future__ import annotations

import numpy as np

from ..harness import Contender, Settings, WorkloadResult, measure
from .common import torch_twin
from .floor import recurrent_floor

KINDS = ("lstm", "gru", "rnn")
HIDDEN = (64, 128, 256, 512)
BATCH = (1, 16, 64, 256)
STEPS, INPUTS = 50, 16
LAYER_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _pass(layer, x):
    def step():
        output, _ = layer(x)
        output.sum().backward()
    return step


def run_cell(kind: str, hidden: int, batch: int, settings: Settings) -> WorkloadResult:
    """One cell of the sweep: seconds per forward+backward pass of the layer."""
    import annie
    steps = 4 if settings.tiny else STEPS
    result = WorkloadResult(f"{kind}-h{hidden}-b{batch}",
                            f"{LAYER_NAMES[kind]} forward+backward, batch {batch}, {steps} steps, "
                            f"{INPUTS} inputs, hidden {hidden}")
    result.extra.update(kind=kind, hidden=hidden, batch=batch)
    annie.manual_seed(settings.seed)
    x = np.random.default_rng(settings.seed).standard_normal((batch, steps, INPUTS))
    x = x.astype(np.float32)
    layer = getattr(annie.nn, LAYER_NAMES[kind])(INPUTS, hidden)
    contenders = [Contender("annie", _pass(layer, annie.tensor(x))),
                  Contender("floor", recurrent_floor(kind, steps, batch, INPUTS, hidden))]
    twin = torch_twin(result, layer, lambda torch: getattr(torch.nn, LAYER_NAMES[kind])(
        INPUTS, hidden, batch_first=True))
    if twin is not None:
        import torch
        contenders.append(Contender("torch", _pass(twin, torch.from_numpy(x))))
    return measure(result, contenders, settings)


def run_sweep(settings: Settings, kinds=KINDS, hidden_sizes=HIDDEN,
              batch_sizes=BATCH, report=None) -> list[WorkloadResult]:
    """Every cell of the sweep, in order; ``report(result)`` is called after each."""
    results = []
    for kind in kinds:
        for hidden in hidden_sizes:
            for batch in batch_sizes:
                result = run_cell(kind, hidden, batch, settings)
                results.append(result)
                if report is not None:
                    report(result)
    return results


def print_cell(result: WorkloadResult) -> None:
    """One line of progress per cell: the medians and both ratios."""
    seconds = result.seconds
    times = ", ".join(f"{name} {value * 1e3:.3f} ms" for name, value in seconds.items())
    floor = (f", floor/pytorch {seconds['torch'] / seconds['floor']:.2f}x"
             if "floor" in seconds and "torch" in seconds else "")
    ratio = result.ratio("torch")
    print(f"  {result.name}: {times}; annie/pytorch "
          f"{'-' if ratio is None else f'{ratio:.2f}x'}{floor}", flush=True)


def format_grid(results: list[WorkloadResult]) -> str:
    """Per layer kind an H x B grid of annie/PyTorch ratios with floor/PyTorch in brackets."""
    lines = []
    kinds = list(dict.fromkeys(result.extra["kind"] for result in results))
    for kind in kinds:
        cells = {(r.extra["hidden"], r.extra["batch"]): r for r in results
                 if r.extra["kind"] == kind}
        hiddens = sorted({h for h, _ in cells})
        batches = sorted({b for _, b in cells})
        lines.append(f"{LAYER_NAMES[kind]}: annie/pytorch (floor/pytorch), > 1 = faster "
                     f"than PyTorch")
        lines.append("H \\ B".ljust(8) + "".join(f"{b:>20}" for b in batches))
        for hidden in hiddens:
            row = f"{hidden:<8}"
            for batch in batches:
                result = cells.get((hidden, batch))
                ratio = None if result is None else result.ratio("torch")
                floor, torch_seconds = ((result.seconds.get("floor"), result.seconds.get("torch"))
                                        if result is not None else (None, None))
                text = "-" if ratio is None else f"{ratio:.2f}x"
                if floor and torch_seconds:
                    text += f" ({torch_seconds / floor:.2f}x)"
                row += f"{text:>20}"
            lines.append(row)
        lines.append("")
    return "\n".join(lines).rstrip()
