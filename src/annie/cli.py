"""The ``annie`` command: argument parsing and printing only; the work is in ``annie.app``.

    annie demo [--out DIR] [--overwrite] [--epochs N] [--seed N]
    annie train CONFIG.toml|PRESET [--set key=value ...] [--out DIR] [--overwrite]
                [--resume RUN_DIR]
    annie evaluate RUN_DIR [DATA.csv]
    annie predict RUN_DIR INPUT.csv [--output OUT.csv] [--proba]
    annie list
    annie compare [--quick] [--out DIR] [--cell lstm|gru|rnn] [--epochs N] [--seed N]
    annie export RUN_DIR --onnx MODEL.onnx
    annie playground [--port P] [--host 127.0.0.1] [--no-browser]
    annie tune CONFIG.toml --trials N [--workers K] [--storage URL] [--study NAME] [--out DIR]

A bad configuration or argument ends with exit code 2 and one line ``annie: error: ...``.
"""
from __future__ import annotations

import argparse
import os
import sys

from .errors import AnnieError, is_positive_int

SHORT_TABLE = 20  # ``annie predict`` without --output prints at most this many rows


class _UsageError(Exception):
    """A command-line usage problem (reported as one line, exit code 2)."""


def _one_line(message: str) -> str:
    """The message on one printable line: control characters (e.g. from arguments) escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in message)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage and exits; we want one line
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not is_positive_int(value):
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


RUN_DIR_HELP = "a run folder written by annie train or annie demo (e.g. runs/demo)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``annie`` command."""
    parser = _Parser(prog="annie", description="annie: neural networks from first principles "
                                               "on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = commands.add_parser("demo", help="train an MLP on the bundled handwritten digits")
    demo.add_argument("--out", default="runs/demo",
                      help="run folder, replaced if it holds an earlier demo run (default: "
                           "runs/demo)")
    demo.add_argument("--overwrite", action="store_true",
                      help="replace the run in --out even if it is not a demo run")
    demo.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default 40)")
    demo.add_argument("--seed", type=_non_negative_int, default=None, help="random seed (0)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    train = commands.add_parser("train", help="train the model a TOML configuration describes")
    train.add_argument("config", help="a TOML file, or the name of an installed preset (annie "
                                      "list)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a value, e.g. --set train.epochs=5 (repeatable)")
    train.add_argument("--out", default=None, help="run folder (default: runs/<config name>)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in --out (it stays whole until the new run is "
                            "complete)")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--resume", default=None, metavar="RUN_DIR",
                       help="continue an interrupted run from the checkpoint in its run folder "
                            "(same configuration; train.epochs may grow)")
    evaluate = commands.add_parser("evaluate", help="score a run on its held-out data or on a "
                                                    "labelled CSV file")
    evaluate.add_argument("run_dir", help=RUN_DIR_HELP)
    evaluate.add_argument("data", nargs="?", default=None,
                          help="a CSV file with the feature and target columns (by name); "
                               "default: the held-out data kept in the run folder")
    predict = commands.add_parser(
        "predict", help="predict the rows of a CSV file with a run",
        description="Predict with a run. mlp runs: one prediction per row of INPUT. "
                    "sequence_regressor runs (forecasting): INPUT holds the series column "
                    "(by its training name); one row per window of data.window consecutive "
                    "values: window_end (the window's last data row, 1 = the first after the "
                    "header) and the next data.horizon values, in the series' units; the last "
                    "row forecasts past the end of INPUT.")
    predict.add_argument("run_dir", help=RUN_DIR_HELP)
    predict.add_argument("input", help="CSV file with a header naming the feature columns, or "
                                       "the series column of a forecasting run (any order; "
                                       "other columns are ignored)")
    predict.add_argument("--output", default=None, metavar="OUT.csv",
                         help="write every prediction to this CSV file")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class")
    commands.add_parser("list", help="presets, datasets, models, losses, optimizers, "
                                     "schedulers, activations, metrics")
    compare = commands.add_parser("compare", help="MLP vs RNN measured: held-out metric, "
                                                  "parameters and time per epoch")
    compare.add_argument("--quick", action="store_true", help="tiny models, one epoch (seconds)")
    compare.add_argument("--out", default="runs/compare",
                         help="folder for the table and the figure (default: runs/compare)")
    compare.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"],
                         help="the recurrent cell (default lstm)")
    compare.add_argument("--epochs", type=_positive_int, default=None,
                         help="epochs per model (default 40; 1 with --quick)")
    compare.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (0)")
    export = commands.add_parser("export", help="write a run's model as an ONNX file")
    export.add_argument("run_dir", help=RUN_DIR_HELP)
    export.add_argument("--onnx", required=True, metavar="MODEL.onnx",
                        help="the ONNX file to write (needs the onnx package: annie[onnx])")
    playground = commands.add_parser("playground", help="the lecture as a live page in your "
                                                        "browser, trained by annie")
    playground.add_argument("--port", type=_non_negative_int, default=8765,
                            help="port (default 8765; 0: any free port)")
    playground.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1: this machine only)")
    playground.add_argument("--no-browser", action="store_true",
                            help="do not open the page in a browser")
    from .tune.command import add_parser as add_tune_parser
    add_tune_parser(commands, _positive_int)
    return parser


def _print_confusion(matrix, classes) -> None:
    labels = [str(label) for label in classes]
    width = max(max(len(label) for label in labels),
                len(str(max(max(row) for row in matrix))), 3)
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(" " * (width + 1) + " ".join(f"{label[:width]:>{width}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label[:width]:>{width}} " + " ".join(f"{count:>{width}d}" for count in row))


def _print_scores(scores, data: str = "held-out") -> None:
    for name, value in scores.test.items():
        print(f"{data} {name}: {value:.4f}")
    for name, value in scores.baseline.items():
        print(f"baseline ({scores.baseline_name}) {name}: {value:.4f}")
    if scores.confusion is not None:
        _print_confusion(scores.confusion, scores.classes)
    for line in scores.lines:
        print(line)


def _report_training(result) -> None:
    _print_scores(result.scores)
    if result.history.stop_reason:
        print(f"note: {result.history.stop_reason}")
    print(f"trained in {result.seconds:.1f} s; run folder: {result.out_dir}")
    for path in result.files:
        print(f"  {path}")


def _command_demo(args) -> None:
    from .app import run
    from .app import rundir
    config = run.demo_config(epochs=args.epochs, seed=args.seed)
    overwrite = args.overwrite or run.is_demo_run(args.out)
    rundir.check_target(args.out, overwrite, resume=False)  # a refusal comes before the banner
    hidden = "-".join(str(size) for size in config["model"]["hidden"])
    print(f"annie demo: an MLP 64-{hidden}-10 (ReLU, dropout, Adam) learns handwritten digits "
          f"(1,797 8x8 images, {config['train']['epochs']} epochs)", flush=True)
    result = run.train_config(config, args.out, verbose=0 if args.quiet else 1,
                              overwrite=overwrite)
    _report_training(result)


def _command_train(args) -> None:
    from .app import config as run_config, presets, run
    path = presets.config_path(args.config)
    config = run_config.load_config(path, args.set)
    if args.resume is not None and args.out is not None \
            and os.path.abspath(args.out) != os.path.abspath(args.resume):
        raise _UsageError("--resume RUN_DIR continues the run in RUN_DIR; leave out --out")
    if args.resume is not None and args.overwrite:
        raise _UsageError("--resume continues a run and --overwrite replaces one: give one")
    out = args.resume or args.out or os.path.join(
        "runs", os.path.splitext(os.path.basename(path))[0])
    result = run.train_config(config, out, verbose=0 if args.quiet else 1,
                              resume=args.resume is not None, overwrite=args.overwrite,
                              source=path)
    _report_training(result)


def _command_evaluate(args) -> None:
    from .app import run
    _print_scores(run.evaluate_run(args.run_dir, args.data),
                  "held-out" if args.data is None else _one_line(os.path.basename(args.data)))


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _command_predict(args) -> None:
    from .app import run
    prediction = run.predict_run(args.run_dir, args.input, args.output, args.proba)
    for note in prediction.notes:
        print(f"annie: note: {_one_line(note)}", file=sys.stderr)
    if args.output is not None:
        print(f"wrote {len(prediction.rows)} predictions to {args.output}")
        return
    count = len(prediction.rows)
    shown = range(count) if count <= SHORT_TABLE else [*range(5), *range(count - 5, count)]
    table = [["row", *map(str, prediction.columns)]] + \
        [[str(index), *map(_cell, prediction.rows[index])] for index in shown]
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for position, row in enumerate(table):
        if position == 6 and count > SHORT_TABLE:  # the first five rows, then the last five
            print(f"... {count - 10} more rows; --output OUT.csv writes all {count}")
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))


def _command_compare(args) -> None:
    from .app import run
    epochs = args.epochs or (1 if args.quick else 40)
    run.check_compare_out(args.out)  # a refusal comes before the banner and the training
    print(f"annie compare: an MLP and an {args.cell.upper()} on a sequential task (sunspots) "
          f"and a static task (digits), {epochs} epoch(s) each", flush=True)
    table, table_path, figure_path = run.compare(args.out, cell=args.cell, epochs=epochs,
                                                 hidden_size=8 if args.quick else 32,
                                                 seed=args.seed)
    print(table)
    print(f"table: {table_path}")
    print(f"figure: {figure_path}" if figure_path else "matplotlib is not installed: no figure")


def _print_table(title: str, table: dict) -> None:
    print(f"{title}:")
    width = max(len(name) for name in table)
    for name, text in table.items():
        print(f"  {name:<{width}}  {text}")


def _command_list(args) -> None:
    from . import data, losses, optim
    from .app import presets, recipes
    from .nn.activation import ACTIVATIONS
    from .registry import summary_line
    from .train.metrics import METRICS
    sequence = recipes.sequence_datasets()
    _print_table("presets (annie train <name>)", presets.presets())
    _print_table("datasets", {name: text for name, text in data.list_datasets().items()})
    _print_table("sequence datasets", {name: f"{recipe.datasets[name]} (model.type = "
                                             f"{recipe.model_type})"
                                       for name, recipe in sequence.items()})
    _print_table("models", {f"{recipe.model_type} ({recipe.task})": summary_line(recipe)
                            for recipe in recipes.all_recipes()})
    for title, registry in (("losses", losses.LOSSES), ("optimizers", optim.OPTIMIZERS),
                            ("schedulers", optim.SCHEDULERS), ("activations", ACTIVATIONS),
                            ("metrics", METRICS)):
        _print_table(title, registry.descriptions())


def _command_export(args) -> None:
    from .app import run, rundir
    folder = rundir.locate(args.run_dir)
    run.check_output(args.onnx, folder, option="--onnx")
    try:
        from .onnx import export_run
    except ImportError as error:
        raise _UsageError(f"annie export needs the onnx package: pip install 'annie[onnx]' "
                          f"({error})") from None
    export_run(folder, args.onnx)
    print(f"wrote {args.onnx}")


def _command_playground(args) -> None:
    from .playground import serve
    serve(args.host, args.port, open_browser=not args.no_browser)


def _command_tune(args) -> None:
    from .tune.command import run
    run(args)


COMMANDS = {"demo": _command_demo, "train": _command_train, "evaluate": _command_evaluate,
            "predict": _command_predict, "list": _command_list, "compare": _command_compare,
            "export": _command_export, "playground": _command_playground,
            "tune": _command_tune}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``annie`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from . import __version__
            print(f"annie {__version__}")
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        COMMANDS[args.command](args)
        return 0
    except (_UsageError, AnnieError) as error:
        print(f"annie: error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `annie list | head`)
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as error:
        text = f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
        print(f"annie: error: {_one_line(text)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:   # Ctrl-C; annie tune's SIGTERM carries exit_code 143
        print("annie: interrupted", file=sys.stderr)
        return getattr(error, "exit_code", 130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
