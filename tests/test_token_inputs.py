"""fit/evaluate/predict keep integer X for models that read token ids (Embedding first) and
cast X to the model's float dtype for every other model."""
import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.errors import DTypeError
from annie.train.inputs import takes_token_ids


class EmbeddingSpy(nn.Module):
    """Embedding -> sum over time -> Linear; records the dtype of every X it is given."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(6, 3)
        self.head = nn.Linear(3, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append(np.asarray(x.data if isinstance(x, annie.Tensor) else x).dtype)
        return self.head(self.embedding(x.data if isinstance(x, annie.Tensor) else x).sum(axis=1))


class LinearSpy(nn.Module):
    """Linear first; records the dtype of every X it is given."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.dtype)
        return self.linear(x)


class NoParameters(nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize("model, expected", [
    (nn.Sequential(nn.Embedding(5, 2), nn.Linear(2, 1)), True),
    (nn.SequenceClassifier(vocab_size=5, hidden_size=3), True),
    (nn.SequenceClassifier(input_size=5, hidden_size=3), False),
    (nn.CharLanguageModel(7, hidden_size=3), True),
    (nn.Seq2Seq(5, 6, hidden_size=3), True),
    (nn.Sequential(nn.Linear(2, 2), nn.Embedding(5, 2)), False),
    (nn.Linear(3, 1), False),
    (NoParameters(), False),
])
def test_takes_token_ids_is_true_when_the_first_layer_with_parameters_is_an_embedding(
        model, expected):
    assert takes_token_ids(model) is expected


def test_fit_evaluate_predict_keep_integer_tokens_for_an_embedding_first_model():
    X = np.random.default_rng(0).integers(0, 6, size=(12, 4))
    y = np.arange(12) % 2
    model = EmbeddingSpy()
    annie.fit(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
              batch_size=4, verbose=0)
    annie.evaluate(model, "cross_entropy", X, y, metrics=["accuracy"])
    predicted = annie.predict(model, X, batch_size=5)
    assert model.seen and all(dtype == np.int64 for dtype in model.seen)
    model.eval()
    np.testing.assert_array_equal(predicted, model(X).data)


def test_integer_x_is_cast_to_the_model_dtype_for_a_linear_first_model():
    X = np.random.default_rng(1).integers(0, 16, size=(10, 4))
    y = np.arange(10) % 2
    model = LinearSpy().double()
    annie.fit(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
              batch_size=5, verbose=0)
    annie.predict(model, X)
    assert model.seen and all(dtype == np.float64 for dtype in model.seen)
    np.testing.assert_allclose(annie.predict(model, X), X @ model.linear.weight.data.T
                               + model.linear.bias.data, rtol=1e-12)


def test_float_token_ids_reach_a_token_model_and_are_refused():
    model = nn.SequenceClassifier(vocab_size=5, hidden_size=3, num_classes=2)
    X = np.ones((4, 3), np.float32)
    with pytest.raises(DTypeError, match="token ids must be integers, got dtype float32"):
        annie.fit(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), X,
                  np.zeros(4, np.int64), epochs=1, batch_size=2, verbose=0)


def test_a_tagger_trains_on_integer_tokens_with_fit():
    tokens = np.array([[1, 2, 3, 0], [2, 2, 0, 0], [3, 1, 2, 1]] * 4)
    labels = np.where(tokens == 0, -100, tokens % 2)
    model = nn.SequenceTagger(vocab_size=4, hidden_size=6, num_tags=2, padding_idx=0,
                              embedding_dim=4)
    history = annie.fit(model, nn.sequence_cross_entropy, optim.Adam(model.parameters(), 0.05),
                        tokens, labels, epochs=15, batch_size=4, verbose=0)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
