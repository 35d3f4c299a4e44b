"""model.summary(input_shape) (a Keras-style table) and repr(model) (PyTorch's layout), checked
against counts by formula, shapes of a real forward pass and, when installed, PyTorch's repr."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import ConfigError, ShapeError


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))


def test_summary_of_an_mlp_counts_by_formula_and_shapes_from_a_forward_pass():
    model = mlp()
    summary = model.summary((6,))
    counts = [row.parameters for row in summary.rows]
    assert counts == [6 * 16 + 16, 0, 0, 16 * 3 + 3]
    assert summary.total == summary.trainable == sum(p.data.size for p in model.parameters())
    assert summary.non_trainable == 0 and summary.nbytes == 4 * summary.total
    output = model(annie.tensor(np.zeros((5, 6), np.float32)))
    assert [row.output_shape for row in summary.rows] == ["(None, 16)"] * 3 + ["(None, 3)"]
    assert output.shape == (5, 3)
    text = str(summary)
    assert "Model: Sequential, input (None, 6)" in text
    assert "0 (Linear)" in text and "Total params: 163" in text and "Trainable params: 163" in text
    assert repr(summary) == text


class Standardize(nn.Module):
    """Frozen statistics as buffers, a learned scale as a parameter."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", np.zeros(features, np.float32))
        self.scale = nn.Parameter(np.ones(features, np.float32))

    def forward(self, x):
        return (x - annie.tensor(self.mean)) * self.scale


def test_frozen_parameters_and_buffers_are_non_trainable():
    model = nn.Sequential(Standardize(4), nn.Linear(4, 2))
    model[1].weight.requires_grad = False
    summary = model.summary((4,))
    assert [row.trainable for row in summary.rows] == ["partly", "partly"]
    assert [row.parameters for row in summary.rows] == [8, 10]
    assert summary.trainable == 4 + 2 and summary.non_trainable == 4 + 8
    frozen = nn.Linear(3, 1)
    for param in frozen.parameters():
        param.requires_grad = False
    assert frozen.summary().rows[0].trainable == "no"


def test_summary_of_a_recurrent_model_marks_the_batch_axis_wherever_it_is():
    model = nn.SequenceClassifier(input_size=3, hidden_size=5, num_classes=2, cell="gru",
                                  num_layers=2)
    summary = model.summary((7, 3))
    names = [("  " * (row.depth - 1)) + row.name for row in summary.rows]
    assert names == ["encoder", "  rnn", "head"]
    output, h_n = model.encoder.rnn(annie.tensor(np.zeros((4, 7, 3), np.float32)))
    assert output.shape == (4, 7, 5) and h_n.shape == (2, 4, 5)
    assert summary.rows[1].output_shape == "[(None, 7, 5), (2, None, 5)]"
    assert summary.rows[2].output_shape == "(None, 2)"
    gru = 3 * 5 * (3 + 5) + 2 * 3 * 5 + 3 * 5 * (5 + 5) + 2 * 3 * 5  # two layers, both biases
    assert summary.rows[1].parameters == gru
    assert summary.total == model.num_parameters()


def test_summary_runs_token_models_on_integer_ids_and_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Embedding(20, 4), nn.Flatten(1), nn.Linear(12, 2))
    assert model.summary((3,)).rows[0].output_shape == "(None, 3, 4)"
    stateful = nn.LSTM(2, 3, stateful=True)
    stateful(annie.tensor(np.ones((1, 4, 2), np.float32)))
    carried = [array.copy() for array in stateful.carried_state]
    stateful.summary((4, 2))
    assert all(np.array_equal(a, b) for a, b in zip(carried, stateful.carried_state))
    assert stateful.training and "forward" not in vars(stateful)


def test_summary_errors_name_the_shape():
    with pytest.raises(ShapeError, match=r"input_shape=\(5,\)"):
        mlp().summary((5,))
    with pytest.raises(ConfigError, match="input_shape"):
        mlp().summary((6, -1))
    assert mlp().summary(6).rows[-1].output_shape == "(None, 3)"


def test_repr_nests_modules_with_their_constructor_arguments():
    model = nn.SequenceRegressor(input_size=2, hidden_size=4, cell="rnn")
    text = repr(model)
    assert text.startswith("SequenceRegressor(\n  input_size=2, hidden_size=4, cell='rnn'\n")
    assert "  (encoder): SequenceEncoder(\n" in text and "    (rnn): RNN(2, 4)" in text
    assert text.endswith("\n)")

    class Custom(nn.Module):
        def __init__(self, width, weight=None, activation="tanh"):
            super().__init__()
            self.inner = nn.Linear(width, width)

        def forward(self, x):
            return self.inner(x)

    assert repr(Custom(3, np.ones(2), activation="relu")).splitlines()[:2] == [
        "Custom(", "  width=3, weight=array(shape=(2,), dtype=float64), activation='relu'"]
    assert repr(nn.ReLU()) == "ReLU()"


def test_repr_of_an_mlp_equals_pytorchs():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8, bias=False), nn.ReLU(),
                         nn.Linear(8, 2), nn.Sigmoid())
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 8, bias=False), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 2), torch.nn.Sigmoid())
    assert repr(ours) == repr(theirs)
