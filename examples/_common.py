"""Shared by the examples: the --quick / --out / --seed arguments, optional matplotlib, saving
figures, and progress lines for loops that take more than a few seconds."""
from __future__ import annotations

import argparse
import os
import time

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with --quick (also --small), --out DIR and --seed N."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--quick", "--small", action="store_true",
                        help="tiny settings that run in seconds (also ANNIE_EXAMPLES_QUICK=1)")
    result.add_argument("--out", default=DEFAULT_OUT,
                        help="folder for the figures (default: examples/output)")
    result.add_argument("--seed", type=at_least(0), default=0, help="random seed (default 0)")
    return result


def at_least(minimum: int):
    """An argparse type for a count (epochs, steps, units, a seed): an integer >= ``minimum``,
    so that 0 or a negative number is refused with exit code 2 instead of being run."""
    def parse_count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse_count


def quick_or_full(value, quick: bool, quick_value, full_value):
    """``value`` when the command line gave one, else the quick or the full default."""
    if value is not None:
        return value
    return quick_value if quick else full_value


def parse(argument_parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` (None: the command line); --quick is also set by the environment
    variable ANNIE_EXAMPLES_QUICK=1 (or the older ANNIE_EXAMPLES_SMALL=1)."""
    args = argument_parser.parse_args(argv)
    args.quick = args.quick or "1" in (os.environ.get("ANNIE_EXAMPLES_QUICK"),
                                       os.environ.get("ANNIE_EXAMPLES_SMALL"))
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        argument_parser.error(f"--out {args.out!r} is a file, not a folder")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as error:
        argument_parser.error(f"--out {args.out!r}: cannot create the folder ({error.strerror})")
    return args


def arguments(description: str, argv=None) -> argparse.Namespace:
    """--quick, --out and --seed parsed from ``argv`` (None: the command line)."""
    return parse(parser(description), argv)


def pyplot_or_none():
    """matplotlib.pyplot (annie's choice of backend), or None with a note when it is not
    installed."""
    from annie.diagnostics.plots import import_pyplot
    from annie.errors import ConfigError
    try:
        return import_pyplot("the examples' figures")
    except ConfigError:
        print("matplotlib is not installed: no figures (pip install 'annie[plot]')")
        return None


def save(figure, out: str, name: str) -> str:
    """Save a figure as out/name (PNG, written atomically), close it, say where it went and
    return the path."""
    from annie.diagnostics.plots import import_pyplot, save_figure
    path = os.path.join(out, name)
    if getattr(figure, "get_layout_engine", lambda: None)() is None:
        figure.tight_layout()
    save_figure(figure, path)
    import_pyplot("the examples' figures").close(figure)
    print(f"figure: {path}")
    return path


class Progress:
    """Prints ``label: step i/n, <message>, <seconds> s`` at most every ``seconds`` seconds
    (and at the last step), so a long loop shows that it is alive."""

    def __init__(self, label: str, total: int, seconds: float = 5.0):
        self.label, self.total, self.seconds = label, total, seconds
        self.start = self.last = time.perf_counter()

    def update(self, step: int, message: str = "") -> None:
        """Report step ``step`` (1-based) if enough time has passed or it is the last one."""
        now = time.perf_counter()
        if now - self.last >= self.seconds or step == self.total:
            self.last = now
            text = f", {message}" if message else ""
            print(f"  {self.label}: step {step}/{self.total}{text}, {now - self.start:.0f} s",
                  flush=True)

    @property
    def elapsed(self) -> float:
        """Seconds since the loop started."""
        return time.perf_counter() - self.start
