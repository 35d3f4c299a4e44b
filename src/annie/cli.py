"""The ``annie`` command: argument parsing and printing only; the work is in ``annie.run``.

    annie demo [--out DIR] [--epochs N] [--seed N]
    annie train CONFIG.toml [--set key=value ...] [--out DIR] [--resume RUN_DIR]
    annie evaluate RUN_DIR
    annie predict RUN_DIR INPUT.csv
    annie list
    annie compare [--quick] [--out DIR] [--cell lstm|gru|rnn] [--epochs N] [--seed N]
    annie tune CONFIG.toml --trials N [--workers K] [--storage URL] [--study NAME] [--out DIR]

A bad configuration or argument ends with exit code 2 and one line ``annie: error: ...``.
"""
from __future__ import annotations

import argparse
import os
import sys

from .errors import AnnieError


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
    if value <= 0:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``annie`` command."""
    parser = _Parser(prog="annie", description="annie: neural networks from first principles "
                                               "on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = commands.add_parser("demo", help="train an MLP on the bundled handwritten digits")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default 40)")
    demo.add_argument("--seed", type=_non_negative_int, default=None, help="random seed (0)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    train = commands.add_parser("train", help="train the model a TOML configuration describes")
    train.add_argument("config", help="a TOML file (see examples/configs/)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a value, e.g. --set train.epochs=5 (repeatable)")
    train.add_argument("--out", default=None, help="run folder (default: runs/<config name>)")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--resume", default=None, metavar="RUN_DIR",
                       help="continue an interrupted run from the checkpoint in its run folder "
                            "(same configuration; train.epochs may grow)")
    evaluate = commands.add_parser("evaluate", help="score a run folder on its held-out data")
    evaluate.add_argument("run_dir")
    predict = commands.add_parser("predict", help="predict the rows of a CSV file with a run")
    predict.add_argument("run_dir")
    predict.add_argument("input", help="CSV file with a header row and the feature columns")
    commands.add_parser("list", help="presets, datasets, models, losses, optimizers, "
                                     "activations, metrics")
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
    from .tune.command import add_parser as add_tune_parser
    add_tune_parser(commands, _positive_int)
    return parser


def _print_confusion(matrix, classes=None) -> None:
    labels = [str(c) for c in classes] if classes else [str(i) for i in range(len(matrix))]
    width = max(max(len(label) for label in labels), len(str(matrix.max())), 3)
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(" " * (width + 1) + " ".join(f"{label[:width]:>{width}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label[:width]:>{width}} " + " ".join(f"{count:>{width}d}" for count in row))


def _print_test(test: dict, task: str) -> None:
    if task == "classification" and "accuracy" in test:
        print(f"held-out accuracy: {test['accuracy']:.4f}")
    others = {k: v for k, v in test.items() if k != "accuracy"}
    if others:
        print("held-out " + " ".join(f"{k}={v:.4f}" for k, v in others.items()))


def _print_sequence(test: dict, baseline: dict, baseline_name: str, lines: list) -> None:
    for name, value in test.items():
        print(f"held-out {name}: {value:.4f}")
    for name, value in baseline.items():
        print(f"baseline ({baseline_name}) {name}: {value:.4f}")
    for line in lines:
        print(line)


def _report_training(result) -> None:
    if result.task == "sequence":
        _print_sequence(result.test, result.baseline, result.baseline_name, result.lines)
    else:
        _print_test(result.test, result.task)
    if result.confusion is not None:
        _print_confusion(result.confusion, result.classes)
    if result.history.stop_reason:
        print(f"note: {result.history.stop_reason}")
    print(f"trained in {result.seconds:.1f} s; run folder: {result.out_dir}")
    for path in result.files:
        print(f"  {path}")


def _command_demo(args) -> None:
    from . import run
    config = run.demo_config(epochs=args.epochs, seed=args.seed)
    hidden = "-".join(str(size) for size in config["model"]["hidden"])
    print(f"annie demo: an MLP 64-{hidden}-10 (ReLU, dropout, Adam) learns handwritten digits "
          f"(1,797 8x8 images, {config['train']['epochs']} epochs)", flush=True)
    result = run.train_config(config, args.out, verbose=0 if args.quiet else 1)
    _report_training(result)


def _command_train(args) -> None:
    from . import config as run_config, run
    config = run_config.load_config(args.config, args.set)
    if args.resume is not None and args.out is not None \
            and os.path.abspath(args.out) != os.path.abspath(args.resume):
        raise _UsageError("--resume RUN_DIR continues the run in RUN_DIR; leave out --out")
    out = args.resume or args.out or os.path.join(
        "runs", os.path.splitext(os.path.basename(args.config))[0])
    result = run.train_config(config, out, verbose=0 if args.quiet else 1,
                              resume=args.resume is not None)
    _report_training(result)


def _command_evaluate(args) -> None:
    from . import run
    results = run.evaluate_run(args.run_dir)
    if results["task"] == "sequence":
        _print_sequence(results["test"], results["baseline"], results["baseline_name"],
                        results["lines"])
        return
    _print_test(results["test"], results["task"])
    if "confusion" in results:
        _print_confusion(results["confusion"], results["classes"])


def _command_predict(args) -> None:
    from . import run
    outputs, summary = run.predict_run(args.run_dir, args.input)
    if summary["task"] == "classification":
        labels = outputs.argmax(axis=1) if outputs.shape[1] > 1 else \
            (outputs[:, 0] >= 0).astype(int)
        classes = summary.get("classes")
        print("row,class" + (",name" if classes else ""))
        for row, label in enumerate(labels):
            print(f"{row},{label}" + (f",{classes[label]}" if classes else ""))
    else:
        print("row," + ",".join(f"prediction_{i}" for i in range(outputs.shape[1])))
        for row, values in enumerate(outputs):
            print(f"{row}," + ",".join(f"{value:.6g}" for value in values))


def _command_compare(args) -> None:
    from .io import atomic_write_text
    from .train import compare_mlp_rnn, format_comparison, plot_comparison
    epochs = args.epochs or (1 if args.quick else 40)
    print(f"annie compare: an MLP and an {args.cell.upper()} on a sequential task (sunspots) "
          f"and a static task (digits), {epochs} epoch(s) each", flush=True)
    rows = compare_mlp_rnn(cell=args.cell, hidden_size=8 if args.quick else 32, epochs=epochs,
                           seed=args.seed)
    table = format_comparison(rows)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    table_path = os.path.join(args.out, "mlp_vs_rnn.txt")
    atomic_write_text(table_path, table + "\n")
    print(f"table: {table_path}")
    figure_path = os.path.join(args.out, "mlp_vs_rnn.png")
    if plot_comparison(rows, figure_path):
        print(f"figure: {figure_path}")
    else:
        print("matplotlib is not installed: no figure")


def _command_list(args) -> None:
    from . import data, losses, nn, optim, presets
    from .run import MODEL_BUILDERS
    from .train import metrics
    activations = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
                   "silu", "softplus", "softsign", "hard_sigmoid", "softmax", "log_softmax")
    activation_text = {}
    for name in activations:
        doc = (type(nn.activation_module(name)).__doc__ or "").strip().splitlines()
        activation_text[name] = doc[0] if doc else ""
    models = {name: (builder.__doc__ or "").strip().splitlines()[0]
              for name, builder in MODEL_BUILDERS.items()}
    models.update({name: text for name, (_, text) in presets.MODEL_TYPES.items()})
    sequence_sets = {name: f"{text} (model.type = {kind})"
                     for name, (kind, text) in presets.DATASETS.items()}
    print("presets (annie train examples/configs/<name>.toml):")
    width = max(len(name) for name in presets.PRESET_FILES)
    for name, text in presets.PRESET_FILES.items():
        print(f"  {name:<{width}}  {text}")
    for title, table in (("datasets", data.list_datasets()),
                         ("sequence datasets", sequence_sets), ("models", models),
                         ("losses", losses.DESCRIPTIONS),
                         ("optimizers", optim.DESCRIPTIONS), ("activations", activation_text),
                         ("metrics", metrics.DESCRIPTIONS)):
        print(f"{title}:")
        width = max(len(name) for name in table)
        for name, text in table.items():
            print(f"  {name:<{width}}  {text}")


def _command_tune(args) -> None:
    from .tune.command import run
    run(args)


COMMANDS = {"demo": _command_demo, "train": _command_train, "evaluate": _command_evaluate,
            "predict": _command_predict, "list": _command_list, "compare": _command_compare,
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
    except KeyboardInterrupt:
        print("annie: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
