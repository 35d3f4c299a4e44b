"""The ready-made sequence models: shapes, padding, generation, decoding, save/load."""
import warnings

import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import ConfigError, DataError, DTypeError

CELLS = ["lstm", "gru", "rnn"]


def random_tokens(shape, low=1, high=9):
    return annie.backend.rng().integers(low, high, size=shape)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_shapes_features_and_tokens(cell, bidirectional):
    model = nn.SequenceClassifier(input_size=3, hidden_size=5, num_classes=4, cell=cell,
                                  num_layers=2, bidirectional=bidirectional)
    assert model(np.zeros((6, 7, 3), np.float32)).shape == (6, 4)
    tokens = nn.SequenceClassifier(vocab_size=10, embedding_dim=4, hidden_size=5, num_classes=3,
                                   cell=cell, bidirectional=bidirectional)
    assert tokens(random_tokens((2, 5))).shape == (2, 3)


def test_last_hidden_is_the_last_forward_step_and_the_first_backward_step():
    layer = nn.GRU(3, 4, bidirectional=True)
    x = annie.backend.rng().standard_normal((2, 5, 3)).astype(np.float32)
    output, h_n = layer(x)
    final = nn.sequence_models.last_hidden(h_n, bidirectional=True).data
    np.testing.assert_allclose(final[:, :4], output.data[:, -1, :4], rtol=1e-6)
    np.testing.assert_allclose(final[:, 4:], output.data[:, 0, 4:], rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_padded_batch_equals_each_sequence_alone(cell):
    model = nn.SequenceClassifier(vocab_size=9, embedding_dim=4, hidden_size=6, num_classes=3,
                                  padding_idx=0, cell=cell, bidirectional=True)
    rows = [random_tokens(5), random_tokens(2), random_tokens(4)]
    padded = np.zeros((3, 5), np.int64)
    for index, row in enumerate(rows):
        padded[index, :len(row)] = row
    batch = model(padded).data  # lengths counted from the padding
    explicit = model(padded, lengths=np.array([5, 2, 4])).data
    np.testing.assert_array_equal(batch, explicit)
    for index, row in enumerate(rows):
        alone = model(row[None]).data[0]
        np.testing.assert_allclose(batch[index], alone, rtol=1e-5, atol=1e-6)


def test_token_models_refuse_float_token_ids():
    model = nn.SequenceClassifier(vocab_size=9, hidden_size=4, num_classes=2, padding_idx=0)
    for floats in (np.array([[1.5, 2.0, 0.0]]), np.array([[3.0, 4.0, 0.0]], np.float32)):
        with pytest.raises(DTypeError, match="token ids must be integers, got dtype float"):
            model(floats)
    with pytest.raises(DataError, match="only padding"):
        model(np.array([[0, 0, 0]]))


@pytest.mark.parametrize("cell", CELLS)
def test_padded_token_models_take_an_empty_batch(cell):
    classifier = nn.SequenceClassifier(vocab_size=9, embedding_dim=4, hidden_size=5,
                                       num_classes=2, padding_idx=0, cell=cell)
    assert classifier(np.zeros((0, 3), np.int64)).shape == (0, 2)
    tagger = nn.SequenceTagger(vocab_size=9, hidden_size=5, num_tags=4, padding_idx=0, cell=cell)
    assert tagger(np.zeros((0, 3), np.int64)).shape == (0, 3, 4)


def test_regressor_output_and_forecast_feed_predictions_back():
    model = nn.SequenceRegressor(input_size=1, hidden_size=5, cell="gru")
    window = np.linspace(-1, 1, 6).astype(np.float32)
    assert model(window[None]).shape == (1,)
    assert model(window[None, :, None]).shape == (1,)
    forecast = model.forecast(window, 3)
    current, expected = window.copy(), []
    for _ in range(3):  # the same loop by hand
        value = model(current[None]).data[0]
        expected.append(value)
        current = np.append(current[1:], value).astype(np.float32)
    np.testing.assert_allclose(forecast, expected, rtol=1e-6)
    two = nn.SequenceRegressor(input_size=2, hidden_size=5, output_size=2)
    assert two(np.zeros((3, 4, 2), np.float32)).shape == (3, 2)
    assert two.forecast(np.zeros((4, 2)), 5).shape == (5, 2)
    with pytest.raises(ConfigError, match="output_size == input_size"):
        nn.SequenceRegressor(input_size=2, output_size=1).forecast(np.zeros((4, 2)), 1)


@pytest.mark.parametrize("cell", CELLS)
def test_tagger_shapes_and_padded_steps_do_not_count(cell):
    model = nn.SequenceTagger(vocab_size=7, embedding_dim=3, hidden_size=4, num_tags=5,
                              padding_idx=0, cell=cell)
    tokens = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    labels = np.array([[0, 1, 2, -100], [3, 4, -100, -100]])
    logits = model(tokens)
    assert logits.shape == (2, 4, 5)
    loss = nn.sequence_cross_entropy(logits, labels)
    # the mean over the 5 real steps only, computed independently with log-softmax in NumPy
    values = logits.data.astype(np.float64)
    log_probs = values - np.log(np.exp(values).sum(-1, keepdims=True))
    real = labels != -100
    expected = -np.mean(log_probs[real, labels[real]])
    np.testing.assert_allclose(float(loss.data), expected, rtol=1e-5)


def test_sequence_cross_entropy_rejects_two_dimensional_logits():
    with pytest.raises(annie.errors.ShapeError, match="batch, time, classes"):
        nn.sequence_cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int64))


@pytest.mark.parametrize("cell", CELLS)
def test_seq2seq_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(cell):
    model = nn.Seq2Seq(source_vocab_size=8, target_vocab_size=6, hidden_size=8,
                       embedding_dim=4, cell=cell, num_layers=2, bos_index=5,
                       source_padding_idx=0)
    source = np.array([[1, 2, 3, 4], [5, 6, 0, 0], [7, 0, 0, 0]])
    decoded = model.decode(source, max_len=6)
    assert decoded.shape == (3, 6) and decoded.dtype == np.int64
    teacher_forced = model(source, decoded)
    assert teacher_forced.shape == (3, 6, 6)
    np.testing.assert_array_equal(teacher_forced.data.argmax(-1), decoded)
    np.testing.assert_array_equal(model.shift_right(decoded)[:, 0], [5, 5, 5])
    np.testing.assert_array_equal(model.shift_right(decoded)[:, 1:], decoded[:, :-1])


@pytest.mark.parametrize("cell", CELLS)
def test_generate_carries_the_state_like_the_whole_sequence(cell):
    vocab = annie.data.CharVocab("abcde")
    model = nn.CharLanguageModel(len(vocab), hidden_size=8, embedding_dim=4, cell=cell)
    text = model.generate("ab", 6, temperature=0, vocab=vocab)
    assert text.startswith("ab") and len(text) == 8
    # greedy: every next character is the argmax of the full forward pass over the prefix
    for end in range(2, 8):
        logits, _ = model(vocab.encode(text[:end])[None])
        assert vocab.chars[int(np.argmax(logits.data[0, -1]))] == text[end]


def test_generate_takes_the_characters_as_a_string_and_refuses_other_vocabs():
    vocab = annie.data.CharVocab("abcde")
    model = nn.CharLanguageModel(len(vocab), hidden_size=8, embedding_dim=4)
    expected = model.generate("ab", 6, temperature=0, vocab=vocab)
    assert model.generate("ab", 6, temperature=0, vocab="".join(vocab.chars)) == expected
    for bad in ["aabcd", 5, ["ab", "c", "d", "e"]]:
        with pytest.raises(ConfigError, match="vocab must be a CharVocab"):
            model.generate("ab", 6, vocab=bad)
    with pytest.raises(ConfigError, match="has 4 characters but the model has vocab_size=5"):
        model.generate("ab", 6, vocab="abcd")


def test_generate_is_repeatable_under_a_seed_and_uses_stored_chars():
    model = nn.CharLanguageModel(5, hidden_size=8, chars="abcde")
    annie.manual_seed(3)
    first = model.generate("abc", 30, temperature=1.0)
    annie.manual_seed(3)
    assert model.generate("abc", 30, temperature=1.0) == first
    annie.manual_seed(4)
    assert model.generate("abc", 30, temperature=1.0) != first
    assert set(first) <= set("abcde")
    with pytest.raises(DataError, match="'z'"):
        model.generate("z", 3)
    with pytest.raises(ConfigError, match="temperature"):
        model.generate("a", 3, temperature=-1)
    with pytest.raises(ConfigError, match="vocab"):
        nn.CharLanguageModel(5).generate("a", 3)


def test_generate_refuses_bad_lengths_temperatures_and_seeds():
    """Each bad argument is named; none is rounded, clipped or turned into a text."""
    model = nn.CharLanguageModel(5, hidden_size=8, chars="abcde")
    for length in [-3, 2.7, "5", None, True]:
        with pytest.raises(ConfigError, match="length must be a non-negative integer"):
            model.generate("ab", length)
    for temperature in [float("nan"), float("inf"), "hot", None]:
        with pytest.raises(ConfigError, match="temperature must be a finite number"):
            model.generate("ab", 3, temperature=temperature)
    for seed in [["a", "b"], 5, b"ab"]:
        with pytest.raises(DataError, match="seed must be a string"):
            model.generate(seed, 3)
    assert model.generate("ab", 0) == "ab"
    assert model.generate("ab", np.int64(2), temperature=0).startswith("ab")


@pytest.mark.parametrize("temperature", [1e-300, 1e-320, 5e-324])
def test_generate_at_a_tiny_temperature_is_greedy(temperature):
    """A temperature so small that logits / T overflows still picks the most likely character
    (as T = 0 does), without a warning."""
    model = nn.CharLanguageModel(5, hidden_size=8, chars="abcde")
    greedy = model.generate("ab", 12, temperature=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.generate("ab", 12, temperature=temperature) == greedy


def test_generate_sampling_follows_the_softmax_probabilities():
    model = nn.CharLanguageModel(3, hidden_size=4, chars="xyz")
    model.head.weight.data[:] = 0
    model.head.bias.data[:] = np.log([0.7, 0.2, 0.1])
    text = model.generate("x", 4000, temperature=1.0)[1:]
    frequencies = np.array([text.count(char) for char in "xyz"]) / len(text)
    # binomial standard error at n=4000 is below 0.008; 4 of them
    np.testing.assert_allclose(frequencies, [0.7, 0.2, 0.1], atol=0.03)


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="cell"):
        nn.SequenceClassifier(input_size=3, cell="transformer")
    with pytest.raises(ConfigError, match="exactly one"):
        nn.SequenceClassifier(input_size=3, vocab_size=4)
    with pytest.raises(ConfigError, match="exactly one"):
        nn.SequenceTagger()
    with pytest.raises(ConfigError, match="bos_index"):
        nn.Seq2Seq(4, 3, bos_index=3)
    with pytest.raises(ConfigError, match="chars"):
        nn.CharLanguageModel(4, chars="abc")


def built_models():
    """One of each model, built from plain option dicts as a config file would give them."""
    options = {
        nn.SequenceClassifier: {"vocab_size": 9, "hidden_size": 4, "num_classes": 3,
                                "padding_idx": 0, "cell": "gru", "bidirectional": True},
        nn.SequenceRegressor: {"input_size": 1, "hidden_size": 4, "cell": "rnn",
                               "num_layers": 2},
        nn.SequenceTagger: {"input_size": 2, "hidden_size": 4, "num_tags": 3, "cell": "lstm"},
        nn.Seq2Seq: {"source_vocab_size": 9, "target_vocab_size": 5, "hidden_size": 4,
                     "cell": "lstm", "source_padding_idx": 0},
        nn.CharLanguageModel: {"vocab_size": 4, "hidden_size": 4, "chars": "abcd"},
    }
    inputs = {
        nn.SequenceClassifier: (np.array([[1, 2, 0]]),),
        nn.SequenceRegressor: (np.ones((2, 3), np.float32),),
        nn.SequenceTagger: (np.ones((2, 3, 2), np.float32),),
        nn.Seq2Seq: (np.array([[1, 2, 0]]), np.array([[1, 2]])),
        nn.CharLanguageModel: (np.array([[0, 1, 3]]),),
    }
    return [(cls(**kwargs), inputs[cls]) for cls, kwargs in options.items()]


@pytest.mark.parametrize("index", range(5))
def test_save_load_round_trip(tmp_path, index):
    model, inputs = built_models()[index]
    path = tmp_path / "model.annie"
    annie.save(model, path)
    loaded = annie.load(path)
    assert type(loaded) is type(model)
    before, after = model(*inputs), loaded(*inputs)
    before = before[0] if isinstance(before, tuple) else before
    after = after[0] if isinstance(after, tuple) else after
    np.testing.assert_array_equal(before.data, after.data)
    if isinstance(model, nn.CharLanguageModel):
        assert loaded.chars == "abcd"


def test_classifier_trains_with_fit_on_an_order_task():
    """Label = whether token 1 comes before token 2: an MLP-free check that training works."""
    generator = annie.backend.rng()
    X = np.stack([generator.permutation(np.array([1, 2, 3, 4])) for _ in range(256)])
    y = (np.argmax(X == 1, axis=1) < np.argmax(X == 2, axis=1)).astype(np.int64)
    model = nn.SequenceClassifier(vocab_size=5, embedding_dim=4, hidden_size=12, num_classes=2,
                                  cell="gru")
    optimizer = annie.optim.Adam(model.parameters(), lr=2e-2)
    annie.fit(model, "cross_entropy", optimizer, X, y, epochs=15, batch_size=32, verbose=0)
    accuracy = annie.evaluate(model, None, X, y, metrics=["accuracy"])["accuracy"]
    assert accuracy > 0.9


def recurrent_layers(model) -> list:
    return [module for _, module in model.named_modules()
            if isinstance(module, nn.rnn.RecurrentLayer)]


IRNN = {"cell": "rnn", "nonlinearity": "relu", "recurrent_init": "identity"}
IRNN_MODELS = [
    (nn.SequenceEncoder, {"input_size": 2, "hidden_size": 4}, (np.ones((2, 3, 2), np.float32),)),
    (nn.SequenceClassifier, {"input_size": 2, "hidden_size": 4, "num_classes": 3},
     (np.ones((2, 3, 2), np.float32),)),
    (nn.SequenceRegressor, {"input_size": 1, "hidden_size": 4, "num_layers": 2},
     (np.ones((2, 3), np.float32),)),
    (nn.SequenceTagger, {"vocab_size": 6, "hidden_size": 4, "num_tags": 3},
     (np.array([[1, 2, 3]]),)),
    (nn.Seq2Seq, {"source_vocab_size": 6, "target_vocab_size": 5, "hidden_size": 4},
     (np.array([[1, 2, 3]]), np.array([[1, 2]]))),
    (nn.sequence_models.PairedSeq2Seq, {"source_length": 3, "source_vocab_size": 6,
                                        "target_vocab_size": 5, "hidden_size": 4}, (np.array([[1, 2, 3, 1, 2]]),)),
    (nn.CharLanguageModel, {"vocab_size": 4, "hidden_size": 4}, (np.array([[0, 1, 3]]),)),
    (nn.ImageCaptioner, {"input_size": 3, "vocab_size": 5, "hidden_size": 4},
     (np.ones((2, 3), np.float32), np.array([[1, 2], [3, 4]]))),
    (nn.PairedImageCaptioner, {"input_size": 3, "vocab_size": 5, "hidden_size": 4},
     (np.array([[0.5, 1.0, 0.2, 1, 2]], np.float32),)),
]


@pytest.mark.parametrize("model_class, options, inputs", IRNN_MODELS,
                         ids=[cls.__name__ for cls, _, _ in IRNN_MODELS])
def test_an_irnn_inside_every_sequence_model_saves_and_loads_as_an_irnn(tmp_path, model_class,
                                                                         options, inputs):
    """cell="rnn", nonlinearity="relu", recurrent_init="identity": every recurrent layer of the
    model is the IRNN, before and after annie.save / annie.load (the ReLU changes the
    outputs, so a tanh RNN with the same weights would not predict the same)."""
    annie.manual_seed(3)
    model = model_class(**options, **IRNN)
    layers = recurrent_layers(model)
    assert layers
    for layer in layers:
        assert (layer.nonlinearity, layer.recurrent_init) == ("relu", "identity")
        np.testing.assert_array_equal(layer.weight_hh_l0.data, np.eye(4))
        layer.weight_hh_l0.data += 0.5  # a trained model: the weights must load, not the init
    annie.save(model, tmp_path / "irnn.annie")
    loaded = annie.load(tmp_path / "irnn.annie")
    for layer in recurrent_layers(loaded):
        assert (layer.nonlinearity, layer.recurrent_init) == ("relu", "identity")
    before, after = model(*inputs), loaded(*inputs)
    before = before[0] if isinstance(before, tuple) else before
    after = after[0] if isinstance(after, tuple) else after
    np.testing.assert_array_equal(before.data, after.data)
    for layer in recurrent_layers(loaded):
        layer.nonlinearity = "tanh"
    tanh = loaded(*inputs)
    assert not np.array_equal((tanh[0] if isinstance(tanh, tuple) else tanh).data, before.data)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_relu_is_the_plain_rnns_nonlinearity_only(cell):
    with pytest.raises(ConfigError, match="nonlinearity='relu' is the plain RNN's"):
        nn.SequenceClassifier(input_size=2, cell=cell, nonlinearity="relu")
    with pytest.raises(ConfigError, match="nonlinearity"):
        nn.SequenceRegressor(cell="rnn", nonlinearity="sigmoid")
    with pytest.raises(ConfigError, match="recurrent_init"):
        nn.SequenceTagger(input_size=2, cell=cell, recurrent_init="eye")
    model = nn.SequenceClassifier(input_size=2, cell=cell, recurrent_init="orthogonal")
    weight = model.encoder.rnn.weight_hh_l0.data.astype(np.float64)[:64]
    np.testing.assert_allclose(weight @ weight.T, np.eye(64), atol=1e-5)
