"""annie.train.compare_mlp_rnn: rows, baselines and parameter counts checked independently."""
import numpy as np
import pytest

import annie
from annie.errors import ConfigError
from annie.train import compare_mlp_rnn, count_parameters, format_comparison, plot_comparison


@pytest.fixture(scope="module")
def rows():
    return compare_mlp_rnn(cell="gru", hidden_size=4, epochs=1, window=6, test_years=30)


def test_one_row_per_model_and_task_with_every_field(rows):
    assert [(row["task"].split()[0], row["model"].split()[0]) for row in rows] == [
        ("sunspots", "MLP"), ("sunspots", "GRU"), ("sunspots", "baseline"),
        ("digits", "MLP"), ("digits", "GRU"), ("digits", "baseline")]
    for row in rows:
        assert set(row) == {"task", "model", "metric", "value", "parameters",
                            "seconds_per_epoch"}
        assert np.isfinite(row["value"]) and row["seconds_per_epoch"] >= 0


def test_parameter_counts_match_the_closed_forms(rows):
    hidden, window = 4, 6
    counts = [row["parameters"] for row in rows]
    mlp_sunspots = window * hidden + hidden + hidden + 1
    gru_regressor = 3 * hidden * (1 + hidden) + 6 * hidden + hidden + 1
    mlp_digits = 64 * hidden + hidden + hidden * 10 + 10
    gru_classifier = 3 * hidden * (8 + hidden) + 6 * hidden + hidden * 10 + 10
    assert counts == [mlp_sunspots, gru_regressor, 0, mlp_digits, gru_classifier, 0]


def test_baselines_computed_independently(rows):
    series = annie.data.load_sunspots().astype(np.float64)
    test = series[-30:]
    previous = series[-31:-1]
    assert rows[2]["value"] == pytest.approx(np.sqrt(np.mean((test - previous) ** 2)), rel=1e-5)
    _, _, y_train, y_test = annie.data.train_test_split(*annie.data.load_digits(), test_size=0.25,
                                                        stratify=True, seed=0)
    majority = np.bincount(y_train).argmax()
    assert rows[5]["value"] == pytest.approx(np.mean(y_test == majority))


def test_count_parameters():
    assert count_parameters(annie.nn.Linear(3, 2)) == 8


def test_table_and_figure(rows, tmp_path):
    table = format_comparison(rows)
    assert len(table.splitlines()) == 2 + len(rows)
    assert "RMSE" in table and "accuracy" in table and "GRU" in table
    pytest.importorskip("matplotlib")
    path = tmp_path / "comparison.png"
    assert plot_comparison(rows, str(path)) is True
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("options, match", [({"tasks": ["mnist"]}, "tasks"),
                                            ({"tasks": []}, "tasks"),
                                            ({"cell": "cnn"}, "cell"),
                                            ({"epochs": 0}, "epochs")])
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        compare_mlp_rnn(**options)
