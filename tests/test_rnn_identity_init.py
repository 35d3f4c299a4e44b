"""recurrent_init="identity": the IRNN of Le, Jaitly & Hinton (2015) and its save/load."""
import numpy as np
import pytest

import annie
from annie import nn
from annie.errors import ConfigError


@pytest.mark.parametrize("layer_class, gates", [(nn.RNN, 1), (nn.GRU, 3), (nn.LSTM, 4)])
def test_every_gate_block_is_the_identity_and_biases_are_zero(layer_class, gates):
    annie.manual_seed(0)
    layer = layer_class(3, 5, num_layers=2, bidirectional=True, recurrent_init="identity")
    bound = 1 / np.sqrt(5)
    for name, param in layer.named_parameters():
        if name.startswith("weight_hh"):
            np.testing.assert_array_equal(param.data, np.vstack([np.eye(5)] * gates))
        elif name.startswith("bias"):
            np.testing.assert_array_equal(param.data, 0)
        else:  # input weights keep PyTorch's uniform init
            assert np.abs(param.data).max() <= bound and np.abs(param.data).std() > 0


def test_irnn_holds_its_state_when_the_input_is_zero():
    """h_t = relu(W_hh h_{t-1}) = h_{t-1} for h_0 >= 0: the identity carries the state
    unchanged over any number of steps (no vanishing, no exploding)."""
    layer = nn.RNN(2, 4, nonlinearity="relu", recurrent_init="identity", dtype=np.float64)
    h_0 = np.array([[[0.5, 1.0, 0.0, 2.0]]])
    output, h_n = layer(np.zeros((1, 300, 2)), h_0)
    np.testing.assert_array_equal(h_n.data, h_0)
    np.testing.assert_array_equal(output.data[0], np.repeat(h_0[0], 300, axis=0))


def test_irnn_save_load_round_trip(tmp_path):
    annie.manual_seed(1)
    layer = nn.RNN(2, 6, nonlinearity="relu", recurrent_init="identity")
    layer.weight_hh_l0.data += 0.01  # trained weights differ from the init: they must load
    annie.save(layer, tmp_path / "irnn.annie")
    loaded = annie.load(tmp_path / "irnn.annie")
    assert loaded.recurrent_init == "identity" and loaded.nonlinearity == "relu"
    x = np.random.default_rng(0).random((3, 7, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x)[0].data, layer(x)[0].data)


def test_unknown_recurrent_init_lists_identity():
    with pytest.raises(ConfigError, match="identity"):
        nn.RNN(2, 3, recurrent_init="eye")


@pytest.mark.parametrize("layer", [
    lambda: nn.RNN(4, 3, nonlinearity="relu", recurrent_init="identity"),
    lambda: nn.LSTM(4, 3, forget_bias=1.0, recurrent_init="orthogonal", num_layers=2),
    lambda: nn.GRU(4, 3, recurrent_init="identity", bidirectional=True),
    lambda: nn.LSTM(4, 3)])
def test_repr_names_every_setting_so_it_rebuilds_the_same_layer(layer):
    original = layer()
    text = repr(original)
    rebuilt = eval(text, {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU})
    assert repr(rebuilt) == text
    for setting in ("recurrent_init", "forget_bias", "nonlinearity", "num_layers",
                    "bidirectional"):
        assert getattr(rebuilt, setting, None) == getattr(original, setting, None), (setting,
                                                                                    text)
