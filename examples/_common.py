"""Shared by the examples: the --out/--small arguments and optional matplotlib."""
from __future__ import annotations

import argparse
import os


def arguments(description: str) -> argparse.Namespace:
    """--out DIR for figures (default examples/output) and --small for a quick run (also set
    by the environment variable ANNIE_EXAMPLES_SMALL=1, which the tests use)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "output"),
                        help="folder for the figures")
    parser.add_argument("--small", action="store_true", help="few iterations (seconds)")
    args = parser.parse_args()
    args.small = args.small or os.environ.get("ANNIE_EXAMPLES_SMALL") == "1"
    return args


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


def save(figure, out: str, name: str) -> None:
    """Save a figure as out/name (atomically) and say where it went."""
    from annie.diagnostics.plots import save_figure
    path = os.path.join(out, name)
    save_figure(figure, path)
    print(f"figure: {path}")
