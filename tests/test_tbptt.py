"""Truncated BPTT (``fit(..., tbptt=k)``) and stateful recurrent layers, checked against
independent loops written here with explicit initial states and detaching."""
import numpy as np
import pytest

import annie
from annie import losses, nn, optim
from annie.errors import ConfigError, ShapeError
from annie.tensor import Tensor, no_grad


class Tagger(nn.Module):
    """LSTM and a linear head at every step: (batch, T, 3) -> (batch, T, 2)."""

    def __init__(self, stateful=False):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, stateful=stateful, dtype=np.float64)
        self.head = nn.Linear(5, 2, dtype=np.float64)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.head(output)


class LastState(nn.Module):
    """GRU and a linear head on the final state: (batch, T, 3) -> (batch, 1)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, dtype=np.float64)
        self.head = nn.Linear(4, 1, dtype=np.float64)

    def forward(self, x):
        _, h_n = self.gru(x)
        return self.head(h_n[0])


class RecordingSGD(optim.SGD):
    """SGD that keeps a copy of every gradient it applies."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.applied = []

    def step(self, closure=None):
        self.applied.append([p.grad.copy() for g in self.param_groups for p in g["params"]])
        return super().step(closure)


def sequences(n=8, steps=7, seed=0):
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n, steps, 3))
    y_steps = np.stack([np.cumsum(X[:, :, 0], axis=1), X[:, :, 1] * X[:, :, 2]], axis=-1)
    y_sequence = X[:, :, 0].sum(axis=1, keepdims=True)
    return X, y_steps, y_sequence


def model_and_optimizer(kind=Tagger, **options):
    annie.manual_seed(5)
    model = kind(**options)
    return model, RecordingSGD(model.parameters(), lr=0.05)


def fit(model, optimizer, X, y, **options):
    options = {"epochs": 1, "batch_size": 4, "shuffle": False, "verbose": 0, **options}
    return annie.fit(model, "mse", optimizer, X, y, **options)


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def manual_tagger_loop(model, optimizer, X, y, chunk, batch_size=4, carry=True):
    """The chunked loop by hand: explicit (h, c) passed in, detached between chunks."""
    steps = X.shape[1]
    for start in range(0, len(X), batch_size):
        X_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
        state = None
        for first in range(0, steps, chunk):
            piece = slice(first, min(first + chunk, steps))
            output, (h_n, c_n) = model.lstm(Tensor(X_batch[:, piece]), state)
            loss = losses.mse(model.head(output), Tensor(y_batch[:, piece]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state = (h_n.data.copy(), c_n.data.copy()) if carry else None


@pytest.mark.parametrize("chunk", [7, 10])
def test_tbptt_with_chunks_as_long_as_the_sequence_equals_plain_training(chunk):
    X, y_steps, y_sequence = sequences()
    for kind, y in ((Tagger, y_steps), (LastState, y_sequence)):
        plain, plain_optimizer = model_and_optimizer(kind)
        plain_history = fit(plain, plain_optimizer, X, y, epochs=2, shuffle=True, seed=1)
        chunked, chunked_optimizer = model_and_optimizer(kind)
        history = fit(chunked, chunked_optimizer, X, y, epochs=2, shuffle=True, seed=1,
                      tbptt=chunk)
        assert history.history == plain_history.history
        for a, b in zip(weights(plain), weights(chunked)):
            assert a.tobytes() == b.tobytes()


def test_tbptt_gradients_equal_a_manual_chunked_loop_with_detached_state():
    X, y, _ = sequences()
    model, optimizer = model_and_optimizer()
    fit(model, optimizer, X, y, tbptt=3)
    assert len(optimizer.applied) == 2 * 3  # 2 batches, chunks of 3, 3 and 1 steps
    reference, reference_optimizer = model_and_optimizer()
    manual_tagger_loop(reference, reference_optimizer, X, y, chunk=3)
    for step, (got, expected) in enumerate(zip(optimizer.applied, reference_optimizer.applied)):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15, err_msg=f"step {step}")
    for a, b in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert not model.lstm.stateful and model.lstm.carried_state is None  # restored after fit


def test_tbptt_carries_the_state_and_truncates_the_gradient():
    X, y, _ = sequences()
    model, optimizer = model_and_optimizer()
    fit(model, optimizer, X, y, tbptt=3)
    # a loop that starts every chunk from zeros ends elsewhere: the state was carried
    reset, reset_optimizer = model_and_optimizer()
    manual_tagger_loop(reset, reset_optimizer, X, y, chunk=3, carry=False)
    assert not np.allclose(optimizer.applied[1][0], reset_optimizer.applied[1][0])
    # the first chunk's gradient is that of the loss on its own 3 steps, not of all 7
    full, full_optimizer = model_and_optimizer()
    fit(full, full_optimizer, X, y)
    first_chunk, first_optimizer = model_and_optimizer()
    fit(first_chunk, first_optimizer, X[:4, :3], y[:4, :3], epochs=1, batch_size=4)
    np.testing.assert_allclose(optimizer.applied[0][0], first_optimizer.applied[0][0],
                               rtol=1e-12, atol=1e-15)
    assert not np.allclose(optimizer.applied[0][0], full_optimizer.applied[0][0])


def test_tbptt_with_one_target_per_sequence_steps_on_the_last_chunk_only():
    X, _, y = sequences()
    model, optimizer = model_and_optimizer(LastState)
    fit(model, optimizer, X, y, tbptt=3)
    assert len(optimizer.applied) == 2  # one step per batch, on the last chunk
    reference, reference_optimizer = model_and_optimizer(LastState)
    for start in (0, 4):
        X_batch, y_batch = X[start:start + 4], y[start:start + 4]
        with no_grad():
            _, h = reference.gru(Tensor(X_batch[:, :3]))
            _, h = reference.gru(Tensor(X_batch[:, 3:6]), h.data.copy())
        _, h_n = reference.gru(Tensor(X_batch[:, 6:]), h.data.copy())
        loss = losses.mse(reference.head(h_n[0]), Tensor(y_batch))
        reference_optimizer.zero_grad()
        loss.backward()
        reference_optimizer.step()
    for got, expected in zip(optimizer.applied, reference_optimizer.applied):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


def test_stateful_layer_continues_from_its_last_call_until_reset():
    X, _, _ = sequences(n=2, steps=6)
    annie.manual_seed(0)
    layer = nn.GRU(3, 4, stateful=True, dtype=np.float64)
    whole, whole_h = nn.GRU.forward(layer, Tensor(X), h0=np.zeros((1, 2, 4)))
    layer.reset_state()
    first, _ = layer(Tensor(X[:, :4]))
    second, h_n = layer(Tensor(X[:, 4:]))
    np.testing.assert_allclose(np.concatenate([first.data, second.data], axis=1), whole.data,
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h_n.data, whole_h.data, rtol=1e-12, atol=1e-15)
    layer.reset_state()
    again, _ = layer(Tensor(X[:, :4]))
    np.testing.assert_array_equal(again.data, first.data)
    with pytest.raises(ShapeError, match=r"carried state is for batches of 2 sequences.* 1"):
        layer(Tensor(X[:1, :2]))
    assert "stateful=True" in repr(layer)


def test_stateful_fit_carries_state_across_batches_and_resets_each_epoch():
    X, y, _ = sequences(n=8, steps=4)
    model, optimizer = model_and_optimizer(stateful=True)
    fit(model, optimizer, X, y, epochs=2)
    reference, reference_optimizer = model_and_optimizer()
    for _ in range(2):
        state = None  # reset at the start of each epoch
        for start in (0, 4):
            output, (h_n, c_n) = reference.lstm(Tensor(X[start:start + 4]), state)
            loss = losses.mse(reference.head(output), Tensor(y[start:start + 4]))
            reference_optimizer.zero_grad()
            loss.backward()
            reference_optimizer.step()
            state = (h_n.data.copy(), c_n.data.copy())
    for a, b in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert model.lstm.stateful  # the user's setting stays
    # predict treats rows as independent sequences (from zeros) and keeps the carried state
    carried = [array.copy() for array in model.lstm.carried_state]
    predicted = annie.predict(model, X, batch_size=3)
    assert all(np.array_equal(a, b) for a, b in zip(model.lstm.carried_state, carried))
    model.lstm.reset_state()
    model.lstm.stateful = False
    np.testing.assert_allclose(predicted, model(Tensor(X)).data, rtol=1e-12, atol=1e-15)
    model.lstm.carried_state = carried


def test_tbptt_and_stateful_errors_are_clear():
    X, y, _ = sequences()
    model, optimizer = model_and_optimizer()
    with pytest.raises(ConfigError, match="tbptt must be a positive integer"):
        fit(model, optimizer, X, y, tbptt=0)
    with pytest.raises(ShapeError, match=r"tbptt needs sequences X of shape \(batch, time, "
                                         r"features\), got X of shape \(8, 21\)"):
        fit(model, optimizer, X.reshape(8, 21), y.reshape(8, 14), tbptt=3)
    mlp = nn.Linear(3, 2)
    with pytest.raises(ConfigError, match="tbptt=3 needs a model with recurrent layers"):
        annie.fit(mlp, "mse", optim.SGD(mlp.parameters(), lr=0.1), X, y, epochs=1, tbptt=3, batch_size=4,
                  verbose=0)
    stateful, stateful_optimizer = model_and_optimizer(stateful=True)
    with pytest.raises(ConfigError, match="stateful recurrent layers.*shuffle=False"):
        fit(stateful, stateful_optimizer, X, y, shuffle=True)
    with pytest.raises(ConfigError, match="8 training samples do not split into batches of 3"):
        fit(stateful, stateful_optimizer, X, y, batch_size=3)
