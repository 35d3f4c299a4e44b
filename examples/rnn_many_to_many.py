"""Many-to-many: a sequence in, a sequence out.

1. Aligned (one label per step): tag every character of a bracket string with its nesting
   depth so far, e.g. "(a(b))" -> 1 1 2 2 1 0. A SequenceTagger must remember the whole prefix;
   padded steps are labelled -100 and ignored by the loss. Held-out per-character and
   whole-string accuracy vs the majority-tag baseline.
2. Encoder-decoder: date-format translation ("March 7, 1998" -> "1998-03-07") with a Seq2Seq
   trained by teacher forcing and read out by greedy decoding. Held-out sequence accuracy
   (whole date right) and character accuracy vs the most-frequent-character baseline.
   The encoder reads the source reversed, which shortens the path from the day to the output.

Date conversion stands in for the lecture's example, translation: the same encoder-decoder
structure on a task small enough to learn in seconds on a CPU.

    python examples/rnn_many_to_many.py [--quick] [--cell lstm|gru|rnn] [--out DIR]

Figure: many_to_many_training.png (training loss per epoch of both tasks).
"""
from __future__ import annotations

import numpy as np

import annie
from annie import nn, optim
from annie.data import (CharVocab, encode_padded, make_bracket_depth, make_date_pairs,
                        pad_labels)
from annie.data.tasks import BRACKET_LETTERS, DATE_BOS_CHAR, PAD_CHAR

from _common import Progress, parse, parser, pyplot_or_none, save


def bracket_tagging(count: int, epochs: int, hidden_size: int, cell: str,
                    verbose: int = 0) -> dict:
    """Train a SequenceTagger on bracket depths with annie.fit; held-out accuracies."""
    texts, tags = make_bracket_depth(count)
    vocab = CharVocab("()" + BRACKET_LETTERS + PAD_CHAR)  # PAD_CHAR gets id 0
    ids, _ = encode_padded(texts, vocab)
    labels = pad_labels(tags)  # -100 on padded steps
    cut = int(count * 0.8)
    num_tags = int(labels.max()) + 1
    model = nn.SequenceTagger(vocab_size=len(vocab), embedding_dim=16, hidden_size=hidden_size,
                              num_tags=num_tags, padding_idx=0, cell=cell, bidirectional=False)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    # the tagger finds each row's length from its padding, so fit can feed it plain arrays
    history = annie.fit(model, nn.sequence_cross_entropy, optimizer, ids[:cut], labels[:cut],
                        epochs=epochs, batch_size=32, verbose=verbose)
    predicted = annie.predict(model, ids[cut:]).argmax(axis=-1)
    truth = labels[cut:]
    real = truth != -100
    accuracy = float(np.mean(predicted[real] == truth[real]))
    whole = float(np.mean(np.all((predicted == truth) | ~real, axis=1)))
    majority = np.bincount(labels[:cut][labels[:cut] != -100]).argmax()
    baseline = float(np.mean(truth[real] == majority))
    baseline_whole = float(np.mean(np.all((truth == majority) | ~real, axis=1)))
    print(f"many-to-many aligned tagging (bracket depth, {cell}) held-out per-character "
          f"accuracy: {accuracy:.4f} (whole strings: {whole:.4f})")
    print(f"baseline (majority tag {majority}) per-character accuracy: {baseline:.4f} "
          f"(whole strings: {baseline_whole:.4f})")
    return {"accuracy": accuracy, "sequence_accuracy": whole, "baseline": baseline,
            "baseline_sequence_accuracy": baseline_whole, "losses": list(history["loss"])}


def date_translation(count: int, epochs: int, hidden_size: int, cell: str,
                     batch_size: int = 64) -> dict:
    """Train a Seq2Seq on date formats with teacher forcing; greedy-decoded held-out accuracy."""
    sources, targets = make_date_pairs(count)
    # the encoder reads each source reversed (Sutskever et al., 2014): the day, written first in
    # most formats, is then read last, close to where the decoder starts writing
    sources = [source[::-1] for source in sources]
    source_vocab = CharVocab("".join(sources) + PAD_CHAR)
    target_vocab = CharVocab("0123456789-" + DATE_BOS_CHAR)
    source_ids, source_lengths = encode_padded(sources, source_vocab)
    target_ids = np.stack([target_vocab.encode(target) for target in targets])
    cut = int(count * 0.8)
    model = nn.Seq2Seq(len(source_vocab), len(target_vocab), hidden_size=hidden_size,
                       embedding_dim=16, cell=cell,
                       bos_index=target_vocab.char_to_id[DATE_BOS_CHAR],
                       source_padding_idx=source_vocab.char_to_id[PAD_CHAR])
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    generator = annie.backend.rng()
    progress, losses = Progress("dates", epochs), []
    for epoch in range(epochs):
        order = generator.permutation(cut)
        total = 0.0
        for start in range(0, cut, batch_size):
            rows = order[start:start + batch_size]
            logits = model(source_ids[rows], target_ids[rows])  # teacher forcing
            loss = nn.sequence_cross_entropy(logits, target_ids[rows])
            optimizer.zero_grad()
            loss.backward()
            annie.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += float(loss.data) * len(rows)
        losses.append(total / cut)
        progress.update(epoch + 1, f"training loss {losses[-1]:.4f}")
    decoded = model.decode(source_ids[cut:], max_len=target_ids.shape[1])
    truth = target_ids[cut:]
    sequence_accuracy = float(np.mean(np.all(decoded == truth, axis=1)))
    char_accuracy = float(np.mean(decoded == truth))
    majority = np.array([np.bincount(column).argmax() for column in target_ids[:cut].T])
    baseline_chars = float(np.mean(truth == majority[None, :]))
    baseline_sequences = float(np.mean(np.all(truth == majority[None, :], axis=1)))
    example = sources[cut][::-1]
    print(f"many-to-many encoder-decoder (dates -> ISO, {cell}) held-out sequence accuracy: "
          f"{sequence_accuracy:.4f} (characters: {char_accuracy:.4f})")
    print(f"baseline (most frequent character at each position) sequence accuracy: "
          f"{baseline_sequences:.4f} (characters: {baseline_chars:.4f})")
    print(f"example: {example!r} -> {target_vocab.decode(decoded[0])!r} "
          f"(truth {targets[cut]!r})")
    return {"sequence_accuracy": sequence_accuracy, "char_accuracy": char_accuracy,
            "baseline": baseline_sequences, "baseline_char_accuracy": baseline_chars,
            "losses": losses}


def main(argv: list[str] | None = None) -> dict:
    """Run both many-to-many tasks; returns their metrics and baselines."""
    argument_parser = parser(__doc__.splitlines()[0])
    argument_parser.add_argument("--cell", default="gru", choices=["lstm", "gru", "rnn"])
    args = parse(argument_parser, argv)
    annie.manual_seed(args.seed)
    if args.quick:
        tagging = bracket_tagging(200, 1, 16, args.cell)
        translation = date_translation(200, 1, 16, args.cell)
    else:
        tagging = bracket_tagging(2000, 20, 32, args.cell, verbose=2)
        translation = date_translation(4000, 25, 128, args.cell)
    plot_losses({"bracket-depth tagging": tagging["losses"],
                 "dates -> ISO (teacher forcing)": translation["losses"]}, args.out)
    return {"tagging": tagging, "translation": translation}


def plot_losses(curves: dict, out: str) -> None:
    pyplot = pyplot_or_none()
    if pyplot is None:
        return
    figure, axis = pyplot.subplots(figsize=(6.4, 4))
    for label, curve in curves.items():
        axis.plot(range(1, len(curve) + 1), curve, "o-", label=label)
    axis.set(xlabel="epoch", ylabel="training cross-entropy", yscale="log",
             title="many-to-many: training loss")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    save(figure, out, "many_to_many_training.png")


if __name__ == "__main__":
    main()
