"""The ``annie tune`` subcommand: its arguments, and the call of :func:`annie.tune.search.tune`.

    annie tune CONFIG.toml --trials N [--workers K] [--storage URL] [--study NAME]
               [--out DIR] [--timeout SECONDS] [--set KEY=VALUE ...] [--no-figures] [--quiet]
"""
from __future__ import annotations

import argparse
import math
import os


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_parser(commands, positive_int) -> None:
    """Add ``tune`` to the ``annie`` command's subparsers (``positive_int``: its int type)."""
    parser = commands.add_parser(
        "tune", help="search the hyperparameters a configuration's [tune] table names "
                     "(Optuna; one process to many machines)")
    parser.add_argument("config", help="a TOML configuration with a [tune] table, or an "
                                       "installed preset's name (annie list) with --set "
                                       "tune.KEY=... for what to search")
    parser.add_argument("--trials", type=positive_int, default=20,
                        help="the study's total of finished trials, however many workers "
                             "share it; a rerun continues the study (default 20)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="local worker processes, one BLAS thread each (default 1: this "
                             "process)")
    parser.add_argument("--storage", default=None, metavar="URL",
                        help="database shared by every worker and machine: "
                             "postgresql://user:password@host/db, mysql+pymysql://..., "
                             "sqlite:///file.db (default: study.db in --out)")
    parser.add_argument("--study", default=None, metavar="NAME",
                        help="study name (default: the configuration file's name)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for best.toml, trials.csv and figures (default: "
                             "runs/tune-<config name>)")
    parser.add_argument("--timeout", type=_positive_number, default=None, metavar="SECONDS",
                        help="start no new trial after this many seconds")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration value, e.g. --set train.epochs=5")
    parser.add_argument("--no-figures", action="store_true", help="write no figures")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run(args) -> None:
    """Run ``annie tune`` with parsed arguments (errors are AnnieErrors: exit code 2)."""
    from ..errors import ConfigError
    from . import bridge
    from .search import tune
    config = bridge.config_path(args.config)   # a file, or an installed preset's name
    out = args.out or os.path.join(
        "runs", "tune-" + os.path.splitext(os.path.basename(config))[0])
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"--out {out!r} is a file: give a folder for the reports")
    if args.study is not None and not args.study.strip():
        raise ConfigError("--study '': give the study a name")
    tune(config, args.trials, storage=args.storage, study_name=args.study, out_dir=out,
         workers=args.workers, timeout=args.timeout, overrides=args.set,
         verbose=0 if args.quiet else 1, figures=not args.no_figures)
