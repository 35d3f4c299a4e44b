"""Memory over long training: peak RSS after 1,000 and 20,000 training steps of the MLP
(mlp-mnist) and LSTM workloads, each count in a fresh process, and the growth between them.

    python benchmarks/memory.py [--models mlp,lstm] [--steps 1000,20000] [--json PATH]
                                [--small | --tiny]

Growth should be ~0 MB: memory that rises with the number of steps is a leak. Not timed; a full
run takes long (the LSTM step costs ~0.1 s on 2 busy cores: 20,000 steps ~ 35 minutes);
``--small`` trains the same LSTM layers on smaller batches (~20 times faster).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.harness import machine_description  # noqa: E402
from benchmarks.workloads.memory import DEFAULT_STEPS, MODELS, Growth, measure_growth  # noqa: E402


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="annie's peak RSS after short and long training")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, from: {', '.join(MODELS)}")
    parser.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)),
                        help="comma-separated step counts, one fresh process each")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--small", action="store_true",
                       help="a smaller LSTM (batch 16, 25 steps, hidden 64), the same MLP")
    sizes.add_argument("--tiny", action="store_true", help="tiny models: checks the code path")
    return parser.parse_args(argv)


def format_table(results: list[Growth]) -> str:
    """One row per model: the peak RSS after each step count and the growth."""
    counts = sorted({steps for result in results for steps in result.peaks_mb})
    header = ["model"] + [f"peak RSS after {steps:,} steps" for steps in counts] + ["growth"]
    rows = [[result.model] + [f"{result.peaks_mb[steps]:.1f} MB" for steps in counts]
            + [f"{result.growth_mb():+.1f} MB"] for result in results]
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
                     for row in [header] + rows)


def main(argv: list[str] | None = None) -> list[Growth]:
    """Measure every model at every step count, print the table (and write JSON)."""
    arguments = parse_arguments(argv)
    models = [name.strip() for name in arguments.models.split(",") if name.strip()]
    unknown = [name for name in models if name not in MODELS]
    if unknown:
        sys.exit(f"memory.py: unknown model(s) {unknown}; choose from {list(MODELS)}")
    try:
        steps = sorted(int(count) for count in arguments.steps.split(","))
    except ValueError:
        sys.exit(f"memory.py: --steps must be comma-separated integers, got {arguments.steps!r}")
    if len(steps) < 2 or steps[0] <= 0:
        sys.exit(f"memory.py: --steps needs two or more positive counts, got {arguments.steps!r}")
    results = []
    for model in models:
        print(f"training {model} for {', '.join(map(str, steps))} steps ...", flush=True)
        size = "tiny" if arguments.tiny else "small" if arguments.small else "full"
        results.append(measure_growth(model, steps, size))
    print(format_table(results))
    if arguments.json:
        document = {"machine": machine_description(), "results": [r.to_json() for r in results]}
        pathlib.Path(arguments.json).write_text(json.dumps(document, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
