"""Run annie against PyTorch (CPU) and scikit-learn on identical workloads and print the table.

    python benchmarks/run.py [--quick] [--json PATH] [--only NAMES] [--repeats N]
    python benchmarks/run.py --sweep [--threads 1,2] [--clock cpu]

Ratios are annie's speed over the other library's (> 1 means annie is faster; for memory,
the other's peak RSS over annie's); floor/pytorch is the speed of annie's recurrent design's BLAS
calls alone over PyTorch's whole pass. Workloads whose annie parts do not exist yet are skipped
with the reason printed.
"""
from __future__ import annotations

import argparse
import contextlib
import pathlib
import sys

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.harness import Settings, WorkloadResult, format_table, machine_description, write_json  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402
from benchmarks.workloads import sweep  # noqa: E402


def _int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, "
                                         f"got {text!r}")
    return values


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
    parser.add_argument("--threads", type=_int_list, metavar="N[,N]",
                        help="run everything once per thread count (BLAS and PyTorch threads, "
                             "e.g. 1,2); default: the libraries' own defaults")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time (default) or the process's CPU time (steadier on a "
                             "shared machine; meaningful with --threads 1)")
    parser.add_argument("--sweep", action="store_true",
                        help="run the recurrent sweep (layer kinds x hidden x batch) instead of "
                             "the workloads (about 10 minutes per thread count)")
    parser.add_argument("--sweep-kinds", default=",".join(sweep.KINDS),
                        help="sweep layer kinds (default lstm,gru,rnn)")
    parser.add_argument("--sweep-hidden", type=_int_list, default=list(sweep.HIDDEN),
                        help="sweep hidden sizes (default 64,128,256,512)")
    parser.add_argument("--sweep-batch", type=_int_list, default=list(sweep.BATCH),
                        help="sweep batch sizes (default 1,16,64,256)")
    return parser.parse_args(argv)


def settings_from(arguments: argparse.Namespace) -> Settings:
    settings = Settings(clock=arguments.clock)
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


@contextlib.contextmanager
def thread_limit(threads: int | None):
    """BLAS (through threadpoolctl) and PyTorch limited to ``threads`` (None: unchanged)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    try:
        import torch
        previous = torch.get_num_threads()
    except ImportError:
        torch = None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


def run_workloads(names: list[str], settings: Settings) -> list[WorkloadResult]:
    """Run the named workloads in order, a failing one reported without losing the others."""
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
    return list(results.values())


def main(argv: list[str] | None = None) -> list[WorkloadResult]:
    """Run the chosen workloads (or the sweep), print the tables (and write JSON)."""
    arguments = parse_arguments(argv)
    settings = settings_from(arguments)
    names = list(WORKLOADS)
    if arguments.only:
        names = [name.strip() for name in arguments.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in WORKLOADS]
        if unknown:
            sys.exit(f"run.py: unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    kinds = [kind.strip() for kind in arguments.sweep_kinds.split(",") if kind.strip()]
    if arguments.sweep and [kind for kind in kinds if kind not in sweep.KINDS]:
        sys.exit(f"run.py: --sweep-kinds takes {list(sweep.KINDS)}, got {kinds}")
    machine = machine_description()
    print(f"machine: {machine.get('cpu')}, {machine['cpu_count']} cores, Python "
          f"{machine['python']}, NumPy {machine['numpy']}, torch {machine.get('torch')}, "
          f"scikit-learn {machine.get('sklearn')}; clock: {settings.clock}", flush=True)
    print(f"NumPy's BLAS: {machine.get('blas', 'unknown')}", flush=True)
    if "OPENBLAS_CORETYPE" in machine["blas_env"]:
        print(f"note: OPENBLAS_CORETYPE={machine['blas_env']['OPENBLAS_CORETYPE']} forces "
              "OpenBLAS's kernels; to measure the ones NumPy picks itself, run with "
              "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`", flush=True)
    everything: list[WorkloadResult] = []
    tables = []
    for threads in arguments.threads or [None]:
        label = "library defaults" if threads is None else f"{threads}"
        with thread_limit(threads):
            if arguments.sweep:
                results = sweep.run_sweep(settings, kinds, arguments.sweep_hidden,
                                          arguments.sweep_batch, report=sweep.print_cell)
                table = sweep.format_grid(results)
            else:
                results = run_workloads(names, settings)
                table = format_table(results)
        for result in results:
            result.extra["threads"] = label
        everything += results
        tables.append(f"threads: {label}\n{table}" if arguments.threads else table)
    print()
    print("\n\n".join(tables))
    if arguments.json:
        write_json(arguments.json, everything, settings)
        print(f"\nwrote {arguments.json}")
    return everything


if __name__ == "__main__":
    main()
