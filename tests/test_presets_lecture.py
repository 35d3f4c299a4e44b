"""The presets of the lecture's RNN tables (image -> text, sentiment, the adding problem): each
trains from ``annie train`` in quick settings, prints its held-out metric beside the baseline,
and ``annie evaluate`` scores the run folder the same; their data and checks."""
import json
import re

import numpy as np
import pytest

import annie
from annie import cli
from annie.app import config as run_config, presets, recipes
from annie.errors import ConfigError

NUMBER = r"([0-9.]+)"

# preset, quick settings, metric, lower is better
PRESETS = [
    ("rnn_one_to_many_caption", ["train.epochs=2", "model.hidden_size=16"], "exact_match",
     False),
    ("rnn_many_to_one_sentiment", ["data.max_samples=600", "data.max_length=20",
                                   "train.epochs=2", "model.hidden_size=8",
                                   "model.embedding_dim=8"], "accuracy", False),
    ("rnn_long_memory_adding", ["data.n_samples=300", "data.steps=10", "train.epochs=2",
                                "model.hidden_size=8"], "mse", True),
]


def metric_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("held-out", "baseline"))]


@pytest.mark.parametrize("name, overrides, metric, lower_is_better", PRESETS,
                         ids=[preset[0] for preset in PRESETS])
def test_preset_trains_and_prints_its_metric_beside_the_baseline(
        tmp_path, capsys, name, overrides, metric, lower_is_better):
    out = tmp_path / name
    arguments = ["train", name, "--out", str(out), "--quiet", "--set", "train.plot=false"]
    for override in overrides:
        arguments += ["--set", override]
    assert cli.main(arguments) == 0
    trained = capsys.readouterr().out
    held_out = float(re.search(rf"^held-out {metric}: {NUMBER}$", trained, re.M)[1])
    baseline = float(re.search(rf"^baseline \(.+\) {metric}: {NUMBER}$", trained, re.M)[1])
    summary = json.loads((out / "run.json").read_text())
    assert summary["test"][metric] == pytest.approx(held_out, abs=1e-4)
    assert summary["baseline"][metric] == pytest.approx(baseline, abs=1e-4)
    assert cli.main(["evaluate", str(out)]) == 0
    assert metric_lines(capsys.readouterr().out) == metric_lines(trained)
    assert name in presets.presets()


def prepare(name, overrides):
    config = run_config.load_config(presets.preset_path(name), overrides)
    return recipes.resolve(config).prepare()


def test_caption_split_pairs_each_image_with_its_name():
    split = prepare("rnn_one_to_many_caption", [])
    assert split.X_train.shape == (1347, 64 + 6) and split.X_test.shape == (450, 64 + 6)
    np.testing.assert_array_equal(split.X_test[:, 64:], split.y_test)
    vocab = annie.data.CharVocab(split.info["chars"])
    names = annie.data.caption_texts(split.y_test, vocab)
    task = annie.data.load_digit_captions(test_size=0.25, seed=0)
    assert names == [annie.data.DIGIT_NAMES[label] for label in task.labels_test]
    assert split.info["majority"] == task.majority_name()


def test_caption_scores_count_whole_names_and_characters():
    """A model that writes the targets themselves scores exact match 1 and CER 0."""
    config = run_config.load_config(presets.preset_path("rnn_one_to_many_caption"), [])
    recipe = recipes.resolve(config)
    split = recipe.prepare()

    class Oracle:
        def decode(self, pairs, max_len, beam_width):
            return np.asarray(pairs)[:, 64:64 + max_len].astype(np.int64)
    scores = recipe.score(Oracle(), split)
    assert scores.test == {"exact_match": 1.0, "cer": 0.0}
    assert 0.05 < scores.baseline["exact_match"] < 0.15 and scores.baseline["cer"] > 0.5


def test_sentiment_split_is_word_ids_with_the_training_vocabulary():
    split = prepare("rnn_many_to_one_sentiment", ["data.max_samples=500"])
    assert split.X_train.dtype == np.int64 and split.X_train.shape[1] <= 50
    assert len(split.y_train) + len(split.y_test) == 500
    assert split.info["classes"] == ["negative", "positive"]
    assert split.info["sizes"]["padding_idx"] == 0
    assert split.info["sizes"]["vocab_size"] > int(split.X_test.max())


def test_a_sentiment_run_folder_keeps_the_vocabulary_to_read_new_sentences(tmp_path, capsys):
    settings = ["data.max_samples=300", "data.max_length=20", "train.epochs=1",
                "model.hidden_size=4", "model.embedding_dim=4", "train.plot=false"]
    arguments = ["train", "rnn_many_to_one_sentiment", "--out", str(tmp_path / "run"), "--quiet"]
    assert cli.main(arguments + [item for pair in zip(["--set"] * len(settings), settings)
                                 for item in pair]) == 0
    capsys.readouterr()
    info = json.loads((tmp_path / "run" / "run.json").read_text())["info"]
    vocab = annie.data.WordVocab.from_state_dict(info["vocabulary"])
    assert len(vocab) == info["sizes"]["vocab_size"] and info["max_length"] == 20
    # the held-out sentences, encoded with the run folder's vocabulary, are the held-out ids
    task = annie.data.load_sentiment_task(test_size=0.2, seed=0, max_length=20, max_samples=300)
    ids, _ = vocab.encode_batch(task.texts_test, max_length=info["max_length"])
    with np.load(tmp_path / "run" / "heldout.npz") as heldout:
        np.testing.assert_array_equal(ids, heldout["X"])
    model = annie.load(tmp_path / "run" / "model.annie")
    new, _ = vocab.encode_batch(["A gorgeous, witty film.", "zzz qqq"])
    assert annie.predict(model, new).shape == (2, 2)


def test_adding_split_has_one_marker_per_half_and_the_mean_baseline():
    split = prepare("rnn_long_memory_adding", ["data.n_samples=400", "data.steps=20"])
    assert split.X_train.shape == (384, 20, 2) and split.X_test.shape == (16, 20, 2)
    markers = split.X_train[..., 1]
    assert (markers[:, :10].sum(axis=1) == 1).all() and (markers[:, 10:].sum(axis=1) == 1).all()
    assert split.info["mean"] == pytest.approx(float(split.y_train.mean()))


@pytest.mark.parametrize("overrides, message", [
    (["data.steps=1"], "data.steps must be at least 2"),
    (["decode.beam_width=2"], "decode.beam_width"),
])
def test_bad_settings_name_the_key(overrides, message):
    """data.steps below 2 leaves no half for a marker; decode.* is the captioner's alone."""
    with pytest.raises(ConfigError, match=message):
        prepare("rnn_long_memory_adding", overrides)
