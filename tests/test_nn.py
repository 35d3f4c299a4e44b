"""Modules and layers: parameter walk and names, state dicts, modes, Linear, Sequential, Dropout,
Embedding, LayerNorm, Flatten."""
from __future__ import annotations

import math

import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import ConfigError, DTypeError, ShapeError


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


class _TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 5)
        self.heads = [nn.Linear(5, 2), nn.Linear(5, 1, bias=False)]
        self.norm = nn.LayerNorm(5)

    def forward(self, x):
        hidden = self.norm(self.encoder(x))
        return [head(hidden) for head in self.heads]


# ----- Module -----------------------------------------------------------------------------
def test_parameters_are_found_in_assignment_order_with_pytorch_names():
    names = [name for name, _ in _mlp().named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    names = [name for name, _ in _TwoBranches().named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "norm.weight", "norm.bias"]


def test_shared_layer_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    tied = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(tied.parameters()) == 2
    assert [name for name, _ in tied.named_parameters()] == ["0.weight", "0.bias"]


def test_state_dict_round_trip_and_load_errors():
    source, target = _mlp(), _mlp()
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    target.load_state_dict(state)
    for (_, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    state["0.weight"][...] = 0  # the state dict is a copy
    assert np.any(source.layers[0].weight.data != 0)
    with pytest.raises(ConfigError, match="missing keys.*2.bias"):
        target.load_state_dict({k: v for k, v in source.state_dict().items() if k != "2.bias"})
    bad = source.state_dict()
    bad["2.bias"] = np.zeros(4)
    before = target.layers[0].weight.data.copy()
    bad["0.weight"] = np.zeros((8, 4))
    with pytest.raises(ShapeError, match=r"'2.bias'.*\(4,\).*\(3,\)"):
        target.load_state_dict(bad)
    np.testing.assert_array_equal(target.layers[0].weight.data, before)  # nothing changed


def test_load_state_dict_casts_to_the_parameter_dtype():
    model = _mlp()
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_train_eval_zero_grad_to_and_num_parameters():
    model = _TwoBranches()
    model.eval()
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())
    out = model(annie.tensor(np.ones((2, 3), dtype=np.float32)))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.num_parameters() == 3 * 5 + 5 + 5 * 2 + 2 + 5 + 5 + 5


def test_repr_shows_the_tree():
    text = repr(_mlp())
    assert "(0): Linear(in_features=4, out_features=8, bias=True)" in text
    assert "(1): ReLU()" in text


# ----- Linear and Sequential --------------------------------------------------------------
def test_linear_shapes_init_bounds_and_errors():
    layer = nn.Linear(50, 20)
    assert layer.weight.shape == (20, 50) and layer.bias.shape == (20,)
    assert layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(50)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound
    out = layer(annie.tensor(np.ones((7, 50), dtype=np.float32)))
    assert out.shape == (7, 20) and out.dtype == np.float32
    assert layer(annie.tensor(np.ones((2, 3, 50), dtype=np.float32))).shape == (2, 3, 20)
    with pytest.raises(ShapeError, match="in_features=50.*shape \\(7, 49\\)"):
        layer(annie.tensor(np.ones((7, 49))))
    with pytest.raises(ConfigError, match="out_features"):
        nn.Linear(3, 0)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_linear_output_equals_the_formula():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(layer(annie.tensor(x)).data,
                               x @ layer.weight.data.T + layer.bias.data)


def test_sequential_names_the_failing_layer():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(7, 3))
    with pytest.raises(ShapeError, match="Sequential layer 2 \\(Linear\\)"):
        model(annie.tensor(np.ones((2, 4), dtype=np.float32)))
    with pytest.raises(ConfigError, match="item 1"):
        nn.Sequential(nn.ReLU(), "relu")
    assert len(model) == 3 and isinstance(model[1], nn.ReLU)
    assert [type(m).__name__ for m in model[:2]] == ["Linear", "ReLU"]


# ----- Dropout ----------------------------------------------------------------------------
def test_dropout_is_inverted_in_training_and_identity_in_eval():
    layer = nn.Dropout(0.25)
    x = annie.tensor(np.ones((200, 100)), requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    assert abs(1 - kept.mean() - 0.25) < 0.01  # 20,000 draws: std of the rate is 0.003
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, kept / 0.75)
    layer.eval()
    assert layer(x) is x


def test_dropout_uses_annies_generator():
    x = annie.tensor(np.ones(50))
    annie.manual_seed(11)
    first = nn.Dropout(0.5)(x).data
    annie.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)


def test_dropout_edge_probabilities_and_validation():
    x = annie.tensor(np.ones((3, 3), dtype=np.float32), requires_grad=True)
    assert nn.Dropout(0.0)(x) is x
    zeros = nn.Dropout(1.0)(x)
    np.testing.assert_array_equal(zeros.data, 0)
    assert zeros.dtype == np.float32
    for p in (-0.1, 1.5, "0.5", None):
        with pytest.raises(ConfigError, match="Dropout: p"):
            nn.Dropout(p)
    assert repr(nn.Dropout()) == "Dropout(p=0.5)"


# ----- Embedding --------------------------------------------------------------------------
def test_embedding_lookup_shape_and_gradient_accumulation():
    layer = nn.Embedding(10, 4)
    indices = np.array([[1, 2, 1], [9, 1, 0]])
    out = layer(indices)
    assert out.shape == (2, 3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data[0, 0], layer.weight.data[1])
    out.sum().backward()
    counts = np.bincount(indices.ravel(), minlength=10)
    np.testing.assert_array_equal(layer.weight.grad, np.repeat(counts[:, None], 4, axis=1))
    assert layer(annie.tensor(np.array([3]))).shape == (1, 4)


def test_embedding_init_is_standard_normal():
    weight = nn.Embedding(1000, 100).weight.data
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1) < 0.01


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    layer = nn.Embedding(5, 3, padding_idx=0)
    np.testing.assert_array_equal(layer.weight.data[0], 0)
    layer(np.array([0, 0, 2])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad[0], 0)
    np.testing.assert_array_equal(layer.weight.grad[2], 1)
    assert nn.Embedding(5, 3, padding_idx=-1).padding_idx == 4
    with pytest.raises(ConfigError, match="padding_idx 5"):
        nn.Embedding(5, 3, padding_idx=5)


def test_embedding_errors_name_the_bad_index_and_dtype():
    layer = nn.Embedding(4, 2)
    with pytest.raises(ShapeError, match="index 7 .*num_embeddings=4"):
        layer(np.array([1, 7]))
    with pytest.raises(ShapeError, match="index -1"):
        layer(np.array([-1]))
    with pytest.raises(DTypeError, match="float64"):
        layer(np.array([1.0]))
    with pytest.raises(ConfigError, match="embedding_dim"):
        nn.Embedding(4, 0)


# ----- LayerNorm --------------------------------------------------------------------------
def test_layer_norm_normalizes_each_sample_and_has_pytorch_parameters():
    layer = nn.LayerNorm(6)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.data, 1)
    np.testing.assert_array_equal(layer.bias.data, 0)
    x = np.random.default_rng(0).normal(3.0, 5.0, (4, 6))
    out = layer(annie.tensor(x)).data
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out.var(axis=1), 1, rtol=1e-5)


def test_layer_norm_without_affine_and_shape_errors():
    layer = nn.LayerNorm((2, 3), elementwise_affine=False)
    assert layer.parameters() == []
    assert layer(annie.tensor(np.ones((4, 2, 3)))).shape == (4, 2, 3)
    with pytest.raises(ShapeError, match=r"normalized_shape \(2, 3\).*\(4, 3, 2\)"):
        layer(annie.tensor(np.ones((4, 3, 2))))
    with pytest.raises(ConfigError, match="eps"):
        nn.LayerNorm(3, eps=0)
    with pytest.raises(ConfigError, match="normalized_shape"):
        nn.LayerNorm(0)


def test_layer_norm_of_a_constant_row_is_finite():
    layer = nn.LayerNorm(4)
    x = annie.tensor(np.full((2, 4), 7.0), requires_grad=True)
    out = layer(x)
    np.testing.assert_array_equal(out.data, 0)
    out.backward(np.ones((2, 4)))
    assert np.all(np.isfinite(x.grad))


# ----- Flatten ----------------------------------------------------------------------------
def test_flatten_shapes_and_errors():
    x = annie.tensor(np.zeros((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    with pytest.raises(ShapeError, match="start_dim=3, end_dim=1"):
        nn.Flatten(3, 1)(x)


def test_mlp_with_every_layer_trains_one_step_downhill():
    model = nn.Sequential(nn.Linear(4, 16), nn.LayerNorm(16), nn.GELU(), nn.Dropout(0.1),
                          nn.Linear(16, 3), nn.LogSoftmax())
    x = annie.tensor(np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32))
    target = np.random.default_rng(1).integers(0, 3, 32)

    def loss_value():
        return -model(x)[np.arange(32), target].mean()

    model.eval()
    before = loss_value()
    before.backward()
    with annie.no_grad():
        for param in model.parameters():
            param.data -= 0.1 * param.grad
    assert loss_value().item() < before.item()


def test_evaluating_switches_dropout_and_recording_off_and_restores_each_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    model.layers[2].eval()  # a mixed model: each sub-module's own mode must come back
    x = annie.tensor(np.ones((5, 3), np.float32))
    with model.evaluating() as same:
        assert same is model and not any(module.training for module in model.modules())
        assert not annie.is_grad_enabled()
        np.testing.assert_array_equal(model(x).data, model(x).data)  # no dropout draws
        assert not model(x).requires_grad
    assert annie.is_grad_enabled()
    assert [module.training for module in model.modules()] == [True, True, True, False]
    with pytest.raises(ZeroDivisionError):
        with model.evaluating():
            1 / 0
    assert [module.training for module in model.modules()] == [True, True, True, False]
