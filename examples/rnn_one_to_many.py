"""One-to-many: one static input in, a sequence out. The lecture's example: text from an image.

An ImageCaptioner reads one 8x8 digit image (the bundled digits) and writes the digit's English
name character by character ("7" -> "seven", then an end mark): an MLP encodes the 64 pixels
into the initial state of a character decoder (GRU), which is trained with teacher forcing
(it reads the true previous character) and at test time writes on its own, by greedy decoding
(its most likely character fed back) or beam search (the best of several partial names kept).

Scored on held-out images: exact match (the whole name right) and character error rate (edit
distance / reference characters), beside the baseline of always writing the most frequent name
and beside a reference: an MLP classifier of the same size followed by a lookup of the name.

    python examples/rnn_one_to_many.py [--quick] [--cell gru|lstm|rnn] [--beam-width 3] [--out DIR]

Figure: one_to_many_captions.png (held-out images with what the model wrote).
"""
from __future__ import annotations

import numpy as np

import annie
from annie import losses, nn, optim
from annie.data import DIGIT_NAMES as NAMES
from annie.data import load_digit_captions

from _common import Progress, at_least, parse, parser, pyplot_or_none, quick_or_full, save


def train_captioner(task, epochs: int, hidden_size: int, cell: str, batch_size: int = 32,
                    lr: float = 3e-3) -> nn.ImageCaptioner:
    """Teacher forcing: cross-entropy of every next character given the true previous ones."""
    X, targets = task.X_train, task.y_train
    model = nn.ImageCaptioner(X.shape[1], len(task.vocab), hidden_size=hidden_size,
                              embedding_dim=16, encoder_hidden_size=128, cell=cell,
                              bos_index=task.bos_index, eos_index=task.eos_index)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    generator = annie.backend.rng()
    progress = Progress("captioner", epochs)
    for epoch in range(epochs):
        order = generator.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            loss = nn.sequence_cross_entropy(model(X[rows], targets[rows]), targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.data) * len(rows)
        progress.update(epoch + 1, f"training loss {total / len(X):.4f}")
    return model


def classifier_reference(X_train, y_train, X_test, epochs: int, seed: int) -> np.ndarray:
    """An MLP (64 -> 128 -> 10) that names the class: the digit, then its name by lookup."""
    annie.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X_train.shape[1], 128), nn.ReLU(), nn.Linear(128, 10))
    annie.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=3e-3), X_train,
              y_train, epochs=epochs, batch_size=32, verbose=0)
    return annie.predict(model, X_test).argmax(axis=1)


def plot_captions(images, written: list[str], truth: list[str], out: str) -> None:
    """The first 12 held-out images and up to 4 mistakes, titled with what the model wrote."""
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    wrong = [index for index, (w, t) in enumerate(zip(written, truth)) if w != t]
    shown = sorted(set(range(min(12, len(images)))) | set(wrong[:4]))
    figure, axes = pyplot.subplots(2, (len(shown) + 1) // 2,
                                   figsize=(1.4 * ((len(shown) + 1) // 2), 3.4), squeeze=False)
    for axis in axes.ravel()[len(shown):]:
        axis.axis("off")
    for axis, index in zip(axes.ravel(), shown):
        image, text, wanted = images[index], written[index], truth[index]
        axis.imshow(image.reshape(8, 8), cmap="gray_r")
        title = f'"{text}"' if text == wanted else f'"{text}"\n(is {wanted})'
        axis.set_title(title, color="green" if text == wanted else "red", fontsize=9)
        axis.axis("off")
    figure.suptitle("one-to-many: what the model writes for held-out images (beam search; "
                    "red: wrong)")
    save(figure, out, "one_to_many_captions.png")


def main(argv: list[str] | None = None) -> dict:
    """Train the captioner on the digits; prints held-out scores and the baseline."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--cell", default="gru", choices=["gru", "lstm", "rnn"])
    argument_parser.add_argument("--beam-width", type=at_least(1), default=3)
    argument_parser.add_argument("--epochs", type=at_least(1), default=None,
                                 help="training epochs (default 30; quick 1)")
    args = parse(argument_parser, argv)
    epochs = quick_or_full(args.epochs, args.quick, 1, 30)
    annie.manual_seed(args.seed)
    task = load_digit_captions(test_size=0.25, seed=args.seed)
    if args.quick:
        task.X_train, task.y_train = task.X_train[:300], task.y_train[:300]
        task.labels_train = task.labels_train[:300]
    model = train_captioner(task, epochs, 16 if args.quick else 64, args.cell)
    truth = [NAMES[label] for label in task.labels_test]
    scores = {}
    for label, width in (("greedy", 1), (f"beam {args.beam_width}", args.beam_width)):
        written = task.texts(model.decode(task.X_test, task.max_len, beam_width=width))
        exact = float(np.mean([w == t for w, t in zip(written, truth)]))
        scores[label] = (exact, nn.character_error_rate(written, truth), written)
    majority = task.majority_name()
    baseline_exact = float(np.mean([majority == t for t in truth]))
    baseline_cer = nn.character_error_rate([majority] * len(truth), truth)
    reference = [NAMES[label] for label in classifier_reference(
        task.X_train, task.labels_train, task.X_test, 2 if args.quick else 30, args.seed)]
    reference_exact = float(np.mean([r == t for r, t in zip(reference, truth)]))
    summary = ", ".join(f"{label} {exact:.4f} (CER {cer:.4f})"
                        for label, (exact, cer, _) in scores.items())
    print(f"one-to-many image -> text ({args.cell}) held-out exact match: {summary}")
    print(f"baseline (always '{majority}') exact match: {baseline_exact:.4f} "
          f"(CER {baseline_cer:.4f})")
    print(f"reference (MLP classifier, then the digit's name): exact match "
          f"{reference_exact:.4f} (CER {nn.character_error_rate(reference, truth):.4f})")
    beam_written = scores[f"beam {args.beam_width}"][2]
    print("examples: " + ", ".join(f"{t} -> {w!r}" for t, w in zip(truth[:6], beam_written)))
    plot_captions(task.X_test, beam_written, truth, args.out)
    return {"scores": {label: value[:2] for label, value in scores.items()},
            "baseline": (baseline_exact, baseline_cer), "reference": reference_exact}


if __name__ == "__main__":
    main()
