"""Run annie against PyTorch (CPU) and scikit-learn on identical workloads and print the table.

    python benchmarks/run.py [--quick] [--json PATH] [--only NAMES] [--repeats N]

Ratios are annie's speed over the other library's (> 1 means annie is faster; for memory,
the other's peak RSS over annie's). Workloads whose annie parts do not exist yet are skipped
with the reason printed.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.harness import Settings, WorkloadResult, format_table, machine_description, write_json  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="annie vs PyTorch / scikit-learn benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and steps (3 repeats of 5 steps): a rough look")
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON here")
    parser.add_argument("--only", metavar="NAMES",
                        help="comma-separated workloads to run, from: " + ", ".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, help="interleaved timed blocks per contender")
    parser.add_argument("--steps", type=int, help="steps per timed block")
    parser.add_argument("--settle", type=float, metavar="SECONDS",
                        help="idle pause before each timed block (default 0.05)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny models and 1 repeat: checks the code path, not the speed")
    return parser.parse_args(argv)


def settings_from(arguments: argparse.Namespace) -> Settings:
    settings = Settings()
    if arguments.quick:
        settings.repeats, settings.steps_per_block, settings.min_block_seconds = 3, 5, 0.05
    if arguments.tiny:
        settings.tiny = True
        settings.repeats, settings.steps_per_block, settings.warmup_blocks = 1, 1, 0
        settings.settle_seconds = settings.min_block_seconds = 0.0
    if arguments.repeats is not None:
        settings.repeats = max(1, arguments.repeats)
    if arguments.settle is not None:
        settings.settle_seconds = max(0.0, arguments.settle)
    if arguments.steps is not None:
        settings.steps_per_block = max(1, arguments.steps)
    return settings


def main(argv: list[str] | None = None) -> list[WorkloadResult]:
    """Run the chosen workloads, print the table (and write JSON); returns the results."""
    arguments = parse_arguments(argv)
    settings = settings_from(arguments)
    names = list(WORKLOADS)
    if arguments.only:
        names = [name.strip() for name in arguments.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in WORKLOADS]
        if unknown:
            sys.exit(f"run.py: unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    machine = machine_description()
    print(f"machine: {machine.get('cpu')}, {machine['cpu_count']} cores, Python "
          f"{machine['python']}, NumPy {machine['numpy']}, torch {machine.get('torch')}, "
          f"scikit-learn {machine.get('sklearn')}", flush=True)
    results: dict[str, WorkloadResult] = {}
    for name in names:
        print(f"running {name} ...", flush=True)
        try:
            result = WORKLOADS[name](settings, results)
        except Exception as error:  # one broken workload must not lose the others' numbers
            result = WorkloadResult(name, "failed", error=f"{type(error).__name__}: {error}")
            print(f"  {name}: FAILED: {result.error}", flush=True)
        results[name] = result
        for library, reason in result.skipped.items():
            print(f"  {name}: {library} skipped: {reason}", flush=True)
    ordered = list(results.values())
    print()
    print(format_table(ordered))
    if arguments.json:
        write_json(arguments.json, ordered, settings)
        print(f"\nwrote {arguments.json}")
    return ordered


if __name__ == "__main__":
    main()
