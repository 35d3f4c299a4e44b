"""Every "improved by at least min_delta/threshold" rule in annie works for negative monitored
values (R^2, mean bias error, log-likelihoods): EarlyStopping and ModelCheckpoint compare with
an absolute margin, ReduceLROnPlateau (tests/test_schedulers.py) with one relative to |best|."""
from __future__ import annotations

import numpy as np
import pytest

import annie
from annie import nn, optim
from annie.train.callbacks import EarlyStopping, ModelCheckpoint


def _constant_loss(value):
    def loss(prediction, target):
        """The same value every batch (a gradient of zero)."""
        return (prediction * 0.0).sum() + value
    return loss


def _fit(loss_value, callbacks, epochs=8):
    X = np.ones((8, 2), np.float32)
    y = np.zeros((8, 1), np.float32)
    model = nn.Linear(2, 1)
    return annie.fit(model, _constant_loss(loss_value), optim.SGD(model.parameters(), lr=0.1), X,
                     y, epochs=epochs, batch_size=4, callbacks=callbacks, verbose=0)


@pytest.mark.parametrize("value", [1.0, -1.0, -250.0])
def test_early_stopping_on_a_flat_loss_whatever_its_sign(value):
    stopper = EarlyStopping(monitor="loss", patience=2)
    history = _fit(value, [stopper])
    assert len(history.history["loss"]) == 3  # the first epoch improves on inf, two do not
    assert stopper.best_epoch == 0


@pytest.mark.parametrize("start", [1.0, -1.0])
def test_early_stopping_min_delta_is_an_absolute_margin(start):
    class Drifting:
        """A loss that falls by 0.004 per epoch: less than min_delta=0.01."""

        epoch = 0

        def __call__(self, prediction, target):
            return (prediction * 0.0).sum() + (start - 0.004 * Drifting.epoch)

    class CountEpochs(annie.train.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            Drifting.epoch = epoch + 1

    X, y = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(monitor="loss", patience=2, min_delta=0.01)
    history = annie.fit(model, Drifting(), optim.SGD(model.parameters(), lr=0.1), X, y,
                        epochs=10, batch_size=4, callbacks=[CountEpochs(), stopper], verbose=0)
    assert len(history.history["loss"]) == 3


def test_model_checkpoint_best_only_with_negative_losses(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "best_{epoch}.annie", monitor="loss",
                                 save_best_only=True)
    _fit(-3.0, [checkpoint], epochs=4)
    assert [path.rsplit("_", 1)[1] for path in checkpoint.saved] == ["1.annie"]
