"""Run several ``annie`` command lines in one process (for the command-line tests).

    python cli_batch.py < commands.json > results.json

Reads a JSON list of argument lists, runs each through ``annie.cli.main`` (the entry point of
the ``annie`` command) with its own captured stdout and stderr, and writes a JSON list of
``{"code", "out", "err"}``. One process for many commands keeps the suite fast.
"""
import contextlib
import io
import json
import sys

from annie import cli


def main() -> None:
    results = []
    for argv in json.load(sys.stdin):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        results.append({"code": code, "out": out.getvalue(), "err": err.getvalue()})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
