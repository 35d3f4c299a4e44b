"""Shared pieces of the ``annie tune`` tests: a tiny configuration (an MLP on the 150 iris
flowers, a few epochs) with a [tune] table, and reading a study back from its storage."""
import pathlib
import subprocess
import sys

import pytest

optuna = pytest.importorskip("optuna")

BASE = """seed = 0

[data]
dataset = "iris"
test_size = 0.3

[model]
hidden = [8]
activation = "tanh"

[optimizer]
lr = 0.01

[train]
epochs = {epochs}
batch_size = 16
validation_split = 0.2
"""

TUNE = """
[tune]
sampler = "random"
sampler_seed = 0
pruner_startup_trials = 2
"optimizer.lr" = { low = 1e-6, high = 0.1, log = true }
"model.hidden" = [[4], [8], [8, 8]]
"train.batch_size" = { low = 8, high = 32, step = 8 }
"""


def write_config(folder: pathlib.Path, tune: str = TUNE, epochs: int = 3,
                 name: str = "iris_tune.toml") -> pathlib.Path:
    """A configuration file with the tiny iris setup and ``tune`` as its [tune] table."""
    path = folder / name
    path.write_text(BASE.format(epochs=epochs) + tune)
    return path


def load_study(url: str, name: str):
    """The study as stored (a fresh read of the database)."""
    return optuna.load_study(study_name=name, storage=url)


def states(study) -> list[str]:
    """Each trial's state name, in trial order."""
    return [trial.state.name for trial in study.get_trials(deepcopy=False)]


def finished_count(study) -> int:
    """Complete plus pruned trials."""
    return sum(state in ("COMPLETE", "PRUNED") for state in states(study))


def annie_command(*arguments: str, **popen_options) -> subprocess.Popen:
    """``annie ...`` in a new process (the installed command's module, same interpreter)."""
    return subprocess.Popen([sys.executable, "-m", "annie", *arguments], **popen_options)
