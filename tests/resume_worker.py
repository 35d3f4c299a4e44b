"""A training run for the cross-process resume tests (run as a script by tests/test_resume.py).

    python resume_worker.py MODEL CHECKPOINT_DIR RESULT_FILE EVERY [--kill-at N] [--resume]
        [--seconds S]

MODEL is "mlp" (dropout, Adam with weight decay, StepLR, EarlyStopping with best weights,
validation, accuracy, gradient clipping) or "lstm" (a stateful LSTM tagger trained with
truncated BPTT). ``--kill-at N`` sends SIGKILL to this process after its N-th batch (no
cleanup of any kind); RESULT_FILE gets the final weights, optimizer state and history.
``--seconds S``: checkpoint_seconds=S, timed by a clock that reads 0, 1, 2, ... seconds (so
the checkpoints fall at the same batches on any machine).
"""
import os
import signal
import sys

import numpy as np

import annie
from annie import nn, optim
from annie.train import Callback, EarlyStopping, LearningRateScheduler


class KillAfter(Callback):
    """SIGKILL this process after the given number of batches (None: never)."""

    def __init__(self, batches):
        self.batches = batches
        self.count = 0

    def on_batch_end(self, batch, loss):
        self.count += 1
        if self.batches is not None and self.count == self.batches:
            os.kill(os.getpid(), signal.SIGKILL)


class Tagger(nn.Module):
    """A stateful LSTM and a linear head per time step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, stateful=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.head(output)


def tag_loss(prediction, target):
    """Cross-entropy over every time step: logits (batch, T, 2), labels (batch, T)."""
    return annie.losses.cross_entropy(prediction.reshape(-1, 2), target.reshape(-1))


class CountingClock:
    """A ``time`` stand-in whose ``monotonic()`` reads 0, 1, 2, ... seconds."""

    def __init__(self):
        self.readings = 0

    def monotonic(self):
        self.readings += 1
        return float(self.readings - 1)


def run_mlp(generator, callbacks, directory, every, resume, seconds):
    X = generator.normal(size=(60, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    schedule = LearningRateScheduler(optim.StepLR(optimizer, step_size=2, gamma=0.5))
    stopping = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    history = annie.fit(model, "cross_entropy", optimizer, X, y, epochs=4, batch_size=8,
                        validation_split=0.2, metrics=["accuracy"], clip_grad_norm=1.0,
                        callbacks=[schedule, stopping, *callbacks], verbose=0,
                        checkpoint_dir=directory, checkpoint_every=every, resume=resume,
                        checkpoint_seconds=seconds)
    return model, optimizer, history


def run_lstm(generator, callbacks, directory, every, resume, seconds):
    X = generator.normal(size=(12, 10, 3)).astype(np.float32)
    y = (np.cumsum(X[:, :, 0], axis=1) > 0).astype(np.int64)
    model = Tagger()
    optimizer = optim.RMSprop(model.parameters(), lr=0.01)
    history = annie.fit(model, tag_loss, optimizer, X, y, epochs=3, batch_size=4, shuffle=False,
                        tbptt=4, callbacks=callbacks, verbose=0, checkpoint_dir=directory,
                        checkpoint_every=every, resume=resume, checkpoint_seconds=seconds)
    return model, optimizer, history


def main(argv):
    model_name, directory, result_file, every = argv[:4]
    every = every if every == "epoch" else int(every)
    kill_at = int(argv[argv.index("--kill-at") + 1]) if "--kill-at" in argv else None
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 0.0
    if seconds:
        annie.train.checkpoint.time = CountingClock()
    annie.manual_seed(3)
    generator = np.random.default_rng(7)
    runner = {"mlp": run_mlp, "lstm": run_lstm}[model_name]
    model, optimizer, history = runner(generator, [KillAfter(kill_at)], directory, every,
                                       "--resume" in argv, seconds)
    annie.io.save_state(result_file, {"weights": dict(model.state_dict()),
                                      "optimizer": optimizer.state_dict(),
                                      "history": history.state_dict()})


if __name__ == "__main__":
    main(sys.argv[1:])
