"""Every example runs in quick mode (in this process, to keep the suite fast), takes --quick and
--out DIR, writes its figures into DIR, and prints what it promises: each held-out metric is
followed by its baseline."""
import importlib.util
import pathlib
import re

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
NUMBER = r"[0-9]+\.[0-9]+"

# example -> lines its output must contain
EXPECTED = {
    "neuron.py": ["perceptron AND: ", "accuracy=1.00", "perceptron XOR", "2-layer MLP XOR"],
    "activations.py": ["sigmoid: f(0)=+0.5000  f'(0)=+0.2500",
                       "tanh: f(0)=+0.0000  f'(0)=+1.0000"],
    "backprop_by_hand.py": ["largest difference between hand and autograd gradients"],
    "regression_losses.py": ["mse: L(1)=+1.0000  L(3)=+9.0000  dL/dr(3)=+6.0000"],
    "optimizers.py": ["nadam: digits loss", "Rosenbrock end"],
    "digits_mlp.py": ["held-out accuracy"],
    "mlp_vs_rnn.py": ["MLP", "LSTM", "parameters", "s / epoch", "RMSE", "accuracy"],
    "rnn_one_to_one.py": ["one-to-one (MLP on digits) held-out accuracy"],
    "rnn_one_to_many.py": ["image -> text (gru) held-out exact match: greedy", "beam 3",
                           "reference (MLP classifier, then the digit's name)"],
    "rnn_generation.py": ["sample (temperature 0.8):\nROSALIND. "],
    "rnn_many_to_one.py": ["sentiment analysis (movie reviews, word-level lstm) held-out",
                           "bag-of-words MLP on the same split, held-out accuracy"],
    "rnn_many_to_many.py": ["dates -> ISO", "bracket depth"],
    "rnn_gradient_problems.py": ["(a) gradient flow at initialisation", "clip_grad_norm=1.0"],
    "rnn_long_memory.py": ["adding problem, test MSE after", "IRNN (ReLU, identity init)",
                           "MLP (flattened sequence)"],
    "rnn_problems.py": ["slow / no parallelism: seconds per epoch", "limited memory: recall",
                        "sensitivity to noise", "convergence: adding problem",
                        "hard hyperparameter choice: LSTM test MSE"],
}
# example -> number of "held-out" lines (each followed by a "baseline" line)
METRICS = {"rnn_one_to_one.py": 1, "rnn_one_to_many.py": 1, "rnn_generation.py": 2,
           "rnn_many_to_one.py": 3, "rnn_many_to_many.py": 2}


def run_example(name: str, out: pathlib.Path, capsys, monkeypatch, *arguments):
    """Import examples/<name> under a private module name and call main(argv)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"annie_example_{name[:-3]}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--quick", "--out", str(out), *arguments])
    return result, capsys.readouterr().out


def test_every_example_is_tested():
    found = {path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_quick_and_writes_its_figures(name, tmp_path, capsys, monkeypatch):
    _, output = run_example(name, tmp_path / "figures", capsys, monkeypatch)
    for text in EXPECTED[name]:
        assert text in output, (text, output)
    figures = [pathlib.Path(line.split(": ", 1)[1]) for line in output.splitlines()
               if line.startswith("figure: ")]
    assert figures, f"{name} wrote no figure"
    for figure in figures:
        assert figure.parent == tmp_path / "figures", figure
        head = figure.read_bytes()[:5]
        assert head[:4] == b"\x89PNG" or head == b"<?xml" or head[:4] == b"<svg", figure
    pairs = [(line, following) for line, following in zip(output.splitlines(),
                                                          output.splitlines()[1:])
             if "held-out" in line and "baseline" not in line and line.startswith(
                 ("one-", "many-", "generation"))]
    assert len(pairs) == METRICS.get(name, len(pairs))
    for held_out, baseline in pairs:
        assert re.search(NUMBER, held_out), held_out
        assert baseline.startswith("baseline") and re.search(NUMBER, baseline), baseline


def test_neuron_perceptron_fails_on_xor_and_the_mlp_solves_it(tmp_path, capsys, monkeypatch):
    _, output = run_example("neuron.py", tmp_path, capsys, monkeypatch)
    lines = {" ".join(line.split(":")[0].split()): line for line in output.splitlines()}
    assert "accuracy=1.00" in lines["perceptron AND"] and "accuracy=1.00" in lines["perceptron OR"]
    assert "accuracy=1.00" not in lines["perceptron XOR"]
    assert "accuracy=1.00" in lines["2-layer MLP XOR"]


def test_generation_sample_is_as_long_as_asked(tmp_path, capsys, monkeypatch):
    result, _ = run_example("rnn_generation.py", tmp_path, capsys, monkeypatch, "--cell", "gru")
    assert result["text"]["sample"].startswith("ROSALIND. ")
    assert len(result["text"]["sample"]) == len("ROSALIND. ") + 200


# every count an example takes, given 0 or a negative number: refused, never run as "the default"
BAD_COUNTS = [("rnn_one_to_many.py", "--beam-width", "0", 1),
              ("rnn_one_to_many.py", "--epochs", "0", 1),
              ("rnn_one_to_many.py", "--epochs", "-2", 1),
              ("rnn_one_to_one.py", "--epochs", "0", 1),
              ("mlp_vs_rnn.py", "--epochs", "0", 1),
              ("mlp_vs_rnn.py", "--epochs", "-1", 1),
              ("rnn_generation.py", "--steps", "0", 1),
              ("rnn_generation.py", "--steps", "-3", 1),
              ("rnn_long_memory.py", "--steps", "0", 1),
              ("rnn_long_memory.py", "--hidden-size", "0", 1),
              ("rnn_long_memory.py", "--length", "1", 2),
              ("rnn_gradient_problems.py", "--steps", "1", 2),
              ("digits_mlp.py", "--seed", "-1", 0),
              ("rnn_one_to_one.py", "--epochs", "two", None)]


@pytest.mark.parametrize("name, flag, value, minimum", BAD_COUNTS)
def test_examples_refuse_a_bad_count(name, flag, value, minimum, tmp_path, capsys,
                                     monkeypatch):
    with pytest.raises(SystemExit) as stop:
        run_example(name, tmp_path, capsys, monkeypatch, flag, value)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    expected = (f"must be at least {minimum}, got {value}" if minimum is not None
                else f"expected an integer, got {value!r}")
    assert f"argument {flag}: {expected}" in error, error


@pytest.mark.parametrize("make_out", [lambda tmp: tmp / "a_file.png",
                                      lambda tmp: tmp / "a_file.png" / "below"])
def test_examples_refuse_an_out_folder_they_cannot_make(make_out, tmp_path, capsys,
                                                        monkeypatch):
    (tmp_path / "a_file.png").write_bytes(b"not a folder")
    out = make_out(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_example("rnn_one_to_one.py", out, capsys, monkeypatch)
    assert stop.value.code == 2
    assert f"--out {str(out)!r}" in capsys.readouterr().err
    assert (tmp_path / "a_file.png").read_bytes() == b"not a folder"


def test_the_figures_the_docs_show_are_there():
    docs = EXAMPLES.parent / "docs"
    shown = re.findall(r"\]\((figures/[\w.]+)\)", (docs / "recurrent.md").read_text())
    assert shown
    for name in shown:
        assert (docs / name).read_bytes()[:4] == b"\x89PNG", name
