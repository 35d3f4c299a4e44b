"""Property tests of the command line and the config loader: random TOML documents and random
argument lists end with exit code 2 and one message (or are valid), never with a traceback."""
from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annie import cli
from annie.app import config as run_config
from annie.errors import AnnieError

KNOWN_KEYS = {
    "data": ["dataset", "path", "target", "test_size", "scale", "task", "window", "seq_len",
             "features", "drop", "header"],
    "model": ["type", "hidden", "activation", "dropout", "cell", "hidden_size", "num_layers"],
    "loss": ["name", "delta"],
    "optimizer": ["name", "lr", "momentum", "betas", "weight_decay"],
    "scheduler": ["name", "step_size", "gamma", "T_max", "patience"],
    "train": ["epochs", "batch_size", "metrics", "validation_split", "clip_grad_norm", "top_k"],
}
SECTIONS = [*KNOWN_KEYS, "generate", "seed", "extra"]
names = st.one_of(st.sampled_from(sorted({k for keys in KNOWN_KEYS.values() for k in keys})),
                  st.text(string.ascii_lowercase + "_", min_size=1, max_size=8))
scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.text(max_size=12),
                    st.sampled_from(["digits", "iris", "mlp", "adam", "sgd", "relu", "lstm",
                                     "cross_entropy", "mse", "standard", "sunspots", "step",
                                     "plateau", "hinge", "regression"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3))
tables = st.dictionaries(names, values, max_size=4)
documents = st.dictionaries(st.sampled_from(SECTIONS), st.one_of(tables, scalars), max_size=5)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value
                                                                else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


def _to_toml(document: dict) -> str:
    lines = [f"{key} = {_toml_value(value)}" for key, value in document.items()
             if not isinstance(value, dict)]
    for section, table in document.items():
        if isinstance(table, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


class _WouldTrain(Exception):
    """Raised instead of training when a random configuration turns out valid."""


@pytest.fixture
def no_training(monkeypatch):
    import annie.app.run
    import annie.train

    def refuse(*args, **kwargs):
        raise _WouldTrain()
    monkeypatch.setattr(annie.app.run, "train_config", refuse)
    monkeypatch.setattr(annie.train, "compare_mlp_rnn", refuse)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, overrides=st.lists(st.text(max_size=20), max_size=2))
def test_config_loader_accepts_or_raises_a_config_error(tmp_path, document, overrides):
    path = tmp_path / "config.toml"
    path.write_text(_to_toml(document), encoding="utf-8")
    try:
        config = run_config.load_config(path, overrides)
    except AnnieError as error:
        assert str(error)
    else:
        assert isinstance(config, dict) and "model" in config


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_config_loader_on_arbitrary_bytes_raises_a_config_error_or_accepts(tmp_path, raw):
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    try:
        run_config.load_config(path)
    except AnnieError as error:
        assert str(path) in str(error) or "config" in str(error).lower()


TOKENS = ["demo", "train", "evaluate", "predict", "list", "compare", "--epochs", "--seed",
          "--out", "--set", "--resume", "--quick", "--cell", "-h", "--version", "0", "-1", "3",
          "--overwrite", "--output", "--proba", "iris",
          "x", "train.epochs=2", "model.hidden=[", "seed=abc", "missing.toml", "/nonexistent",
          "lstm", "=", "--", ""]


COMMAND_LINES = st.one_of(
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=10)), max_size=6),
    st.tuples(st.sampled_from(["demo", "train", "evaluate", "predict", "compare"]),
              st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=10)), max_size=5))
    .map(lambda pair: [pair[0], *pair[1]]),
    st.tuples(st.sampled_from(["examples/configs/digits_mlp.toml", "examples/configs/iris.toml"]),
              st.lists(st.text(max_size=16), min_size=1, max_size=3))
    .map(lambda pair: ["train", pair[0], *[f"--set={text}" for text in pair[1]]]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=COMMAND_LINES)
def test_cli_exits_with_0_or_2_and_one_message_never_a_traceback(no_training, capsys, argv):
    try:
        code = cli.main(argv)
    except _WouldTrain:
        return  # the arguments were valid: training would start
    except SystemExit as exit_:  # --help and --version print and exit 0
        code = exit_.code
    captured = capsys.readouterr()
    assert code in (0, 2), (argv, code, captured.err)
    assert "Traceback" not in captured.err
    if code == 2 and captured.err:
        assert captured.err.strip().splitlines()[-1].startswith(("annie: error:", "usage:")), \
            captured.err
