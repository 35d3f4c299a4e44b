"""The bundled movie-review sentences, tokenize, WordVocab and the sentiment task split."""
import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

from annie import data
from annie.data import WordVocab, tokenize
from annie.errors import ConfigError, DataError

# SHA-256 of movieReviewSnippets_GroundTruth.txt in vaderSentiment 3.3.2 (before our gzip)
MOVIE_REVIEWS_SHA256 = "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"


def test_bundled_file_is_the_original():
    raw = resources.files("annie.data").joinpath(
        "datasets", "movieReviewSnippets_GroundTruth.txt.gz").read_bytes()
    text = gzip.decompress(raw)
    assert hashlib.sha256(text).hexdigest() == MOVIE_REVIEWS_SHA256
    assert len(text.decode("utf-8").splitlines()) == 10_605


def test_positive_negative_counts_and_the_neutral_band():
    texts, labels, ratings = data.load_movie_reviews(return_ratings=True)
    assert len(texts) == len(labels) == len(ratings) == 10_043
    assert labels.dtype == np.int64 and ratings.dtype == np.float32
    assert int(labels.sum()) == 4_982 and int((labels == 0).sum()) == 5_061
    assert (np.abs(ratings) > 0.5).all() and ((ratings > 0) == (labels == 1)).all()
    assert texts[0].startswith("The Rock is destined to be the 21st Century's new")
    assert labels[0] == 1 and ratings[0] == pytest.approx(2.26666666667)
    wide, _ = data.load_movie_reviews(neutral_band=2.0)
    assert 0 < len(wide) < len(texts)
    everything, _ = data.load_movie_reviews(neutral_band=0)
    assert len(everything) == 10_605 - 37  # 37 sentences rated exactly 0
    with pytest.raises(ConfigError, match="neutral_band"):
        data.load_movie_reviews(neutral_band=-1)
    assert data.load_dataset("movie_reviews")[0] == texts


def test_tokenize():
    assert tokenize("It's GREAT, isn't it?!") == ["it's", "great", "isn't", "it", "?", "!"]
    assert tokenize("Les clichés -- 3 D...") == ["les", "clichés", "3", "d"]
    assert tokenize("") == []
    with pytest.raises(DataError, match="str"):
        tokenize(3)


def test_word_vocab_orders_by_frequency_and_pads():
    vocab = WordVocab.from_texts(["a good film", "a bad film", "a film"], min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "a", "film"]
    ids, lengths = vocab.encode_batch(["a film", "bad", "film a film a"], max_length=3)
    np.testing.assert_array_equal(ids, [[2, 3, 0], [1, 0, 0], [3, 2, 3]])
    np.testing.assert_array_equal(lengths, [2, 1, 3])
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    assert vocab.decode(ids[0]) == ["a", "film"]
    empty_ids, empty_lengths = vocab.encode_batch(["...", "a"])
    np.testing.assert_array_equal(empty_ids, [[1], [2]])  # no word: one <unk> step
    np.testing.assert_array_equal(empty_lengths, [1, 1])
    assert WordVocab.from_state_dict(vocab.state_dict()).words == vocab.words
    assert len(WordVocab.from_texts(["a b c d e"], max_size=4)) == 4


def test_bag_of_words_counts_against_a_counter():
    vocab = WordVocab.from_texts(["x y z", "x x w"])
    ids, _ = vocab.encode_batch(["x x y", "z unknown", "w"])
    counts = vocab.bag_of_words(ids, binary=False)
    for row, text in enumerate(["x x y", "z unknown", "w"]):
        expected = np.zeros(len(vocab))
        for word in tokenize(text):
            expected[vocab.word_to_id.get(word, 1)] += 1
        np.testing.assert_array_equal(counts[row], expected)
    np.testing.assert_array_equal(vocab.bag_of_words(ids), np.minimum(counts, 1))


def test_word_vocab_errors():
    with pytest.raises(ConfigError, match="min_count"):
        WordVocab.from_texts(["a"], min_count=0)
    with pytest.raises(DataError, match="no word is frequent enough"):
        WordVocab.from_texts(["a b"], min_count=5)
    with pytest.raises(ConfigError, match="listed twice"):
        WordVocab(["a", "a"])
    with pytest.raises(DataError, match="outside the vocabulary"):
        WordVocab(["a"]).decode([7])
    with pytest.raises(DataError, match="expected a list of texts, got one str 'a film'"):
        WordVocab(["a", "film"]).encode_batch("a film")
    for bad in (4, -1):  # -1 used to count the last word
        with pytest.raises(DataError, match=f"id {bad} is outside the vocabulary"):
            WordVocab(["a", "film"]).bag_of_words(np.array([[2, bad]]))


def test_sentiment_task_split_is_stratified_and_the_vocabulary_sees_training_only():
    task = data.load_sentiment_task(test_size=0.2, seed=0, min_count=2, max_length=30,
                                    max_samples=2000)
    assert len(task.y_train) + len(task.y_test) == 2000 and len(task.y_test) == 400
    assert abs(task.y_train.mean() - task.y_test.mean()) < 0.01
    assert task.X_train.shape[1] <= 30 and task.lengths_train.max() <= 30
    assert (task.lengths_test >= 1).all()
    train_words = {word for text in task.texts_train for word in tokenize(text)}
    assert set(task.vocab.words[2:]) <= train_words
    # padding only after each sentence's length
    columns = np.arange(task.X_test.shape[1])
    assert (task.X_test[columns[None, :] >= task.lengths_test[:, None]] == 0).all()
    assert (task.X_test[columns[None, :] < task.lengths_test[:, None]] != 0).all()
    assert task.majority_baseline() == pytest.approx(
        np.mean(task.y_test == np.bincount(task.y_train).argmax()))
    again = data.load_sentiment_task(test_size=0.2, seed=0, min_count=2, max_length=30,
                                     max_samples=2000)
    assert again.texts_test == task.texts_test
