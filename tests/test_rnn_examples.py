"""Every RNN-type example runs end to end in --quick mode and prints its metric and baseline."""
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
NUMBER = r"[0-9]+\.[0-9]+"


def run_example(name, *arguments, cwd=None):
    result = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick", *arguments],
                            capture_output=True, text=True, timeout=120, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def metric_lines(output):
    """(held-out line, baseline line) pairs: each held-out line is followed by its baseline."""
    lines = output.splitlines()
    pairs = [(line, lines[index + 1]) for index, line in enumerate(lines) if "held-out" in line]
    for held_out, baseline in pairs:
        assert re.search(NUMBER, held_out), held_out
        assert baseline.startswith("baseline") and re.search(NUMBER, baseline), baseline
    return pairs


@pytest.mark.parametrize("name, count", [("rnn_one_to_one.py", 1), ("rnn_one_to_many.py", 2),
                                         ("rnn_many_to_one.py", 2), ("rnn_many_to_many.py", 2)])
def test_example_prints_metric_and_baseline(name, count):
    output = run_example(name)
    assert len(metric_lines(output)) == count


def test_one_to_many_prints_a_generated_sample():
    output = run_example("rnn_one_to_many.py", "--cell", "gru")
    sample = output.split("sample (temperature 0.8):\n", 1)[1]
    assert sample.startswith("ROSALIND. ") and len(sample) > 200


def test_mlp_vs_rnn_prints_the_table_and_saves_the_figure(tmp_path):
    figure = tmp_path / "comparison.png"
    output = run_example("mlp_vs_rnn.py", "--figure", str(figure))
    for word in ("MLP", "LSTM", "parameters", "s / epoch", "RMSE", "accuracy"):
        assert word in output
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no figure" in output
    else:
        assert figure.exists() and figure.stat().st_size > 1000
