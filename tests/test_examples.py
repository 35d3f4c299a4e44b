"""Every example runs (small settings) and prints what it promises."""
import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

EXPECTED = {
    "neuron.py": ["perceptron AND: ", "accuracy=1.00", "perceptron XOR", "2-layer MLP XOR"],
    "activations.py": ["sigmoid: f(0)=+0.5000  f'(0)=+0.2500", "tanh: f(0)=+0.0000  f'(0)=+1.0000"],
    "backprop_by_hand.py": ["largest difference between hand and autograd gradients"],
    "regression_losses.py": ["mse: L(1)=+1.0000  L(3)=+9.0000  dL/dr(3)=+6.0000"],
    "optimizers.py": ["nadam: digits loss", "Rosenbrock end"],
    "digits_mlp.py": ["held-out accuracy"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path):
    environment = dict(os.environ, ANNIE_EXAMPLES_SMALL="1", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(EXAMPLES / name), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, env=environment,
                            cwd=EXAMPLES)
    assert result.returncode == 0, result.stderr
    for text in EXPECTED[name]:
        assert text in result.stdout, (text, result.stdout)
    if "figure:" in result.stdout:
        for line in result.stdout.splitlines():
            if line.startswith("figure: "):
                assert pathlib.Path(line[len("figure: "):]).read_bytes()[:4] == b"\x89PNG"


def test_neuron_perceptron_fails_on_xor_and_the_mlp_solves_it(tmp_path):
    environment = dict(os.environ, ANNIE_EXAMPLES_SMALL="1")
    result = subprocess.run([sys.executable, str(EXAMPLES / "neuron.py")], capture_output=True,
                            text=True, timeout=120, env=environment, cwd=EXAMPLES)
    lines = {" ".join(line.split(":")[0].split()): line for line in result.stdout.splitlines()}
    assert "accuracy=1.00" in lines["perceptron AND"] and "accuracy=1.00" in lines["perceptron OR"]
    assert "accuracy=1.00" not in lines["perceptron XOR"]
    assert "accuracy=1.00" in lines["2-layer MLP XOR"]
