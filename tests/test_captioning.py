"""ImageCaptioner (one-to-many): teacher forcing, greedy and beam decoding against brute-force
references, gradients, save/load; edit distance and character error rate."""
import itertools

import numpy as np
import pytest

import annie
from annie import nn
from annie.diagnostics import gradcheck
from annie.errors import ConfigError, ShapeError

CELLS = ["gru", "lstm", "rnn"]
BOS, EOS, VOCAB = 5, 4, 6


def captioner(cell="gru", num_layers=1, seed=0, **options):
    annie.manual_seed(seed)
    settings = dict(input_size=5, vocab_size=VOCAB, hidden_size=8, embedding_dim=4,
                    encoder_hidden_size=6, cell=cell, num_layers=num_layers, bos_index=BOS,
                    eos_index=EOS)
    settings.update(options)
    model = nn.ImageCaptioner(**settings)
    # larger weights than the default init, so the decoder's choices differ from step to step
    for param in model.parameters():
        param.data *= 3.0
    return model


def images(count=4, seed=1):
    return np.random.default_rng(seed).standard_normal((count, 5)).astype(np.float32)


def test_decoder_input_shifts_right_and_reads_padding_as_eos():
    model = captioner()
    target = np.array([[1, 2, EOS, -100], [3, EOS, -100, -100]])
    np.testing.assert_array_equal(model.decoder_input(target),
                                  [[BOS, 1, 2, EOS], [BOS, 3, EOS, EOS]])
    logits = model(images(2), target)
    assert logits.shape == (2, 4, VOCAB)


@pytest.mark.parametrize("cell", CELLS)
def test_teacher_forcing_equals_feeding_one_token_at_a_time(cell):
    model = captioner(cell, num_layers=2)
    target = np.array([[1, 2, 3], [0, 1, EOS]])
    whole = model(images(2), target).data
    for length in range(1, 4):  # a prefix sees the same logits: the decoder is causal
        np.testing.assert_allclose(model(images(2), target[:, :length]).data, whole[:, :length],
                                   rtol=1e-5, atol=1e-6)


def reference_greedy(model, pixels, max_len):
    """Greedy decoding written with the teacher-forced forward only: at each step run the
    whole prefix again and append the argmax of the last step."""
    prefix = np.zeros((len(pixels), 0), dtype=np.int64)
    for _ in range(max_len):
        padded = np.concatenate([prefix, np.zeros((len(pixels), 1), np.int64)], axis=1)
        with annie.no_grad():
            logits = model(pixels, padded).data
        prefix = np.concatenate([prefix, logits[:, -1].argmax(-1)[:, None]], axis=1)
    return prefix


def fill_after_eos(sequences):
    sequences = sequences.copy()
    for row in sequences:
        hits = np.flatnonzero(row == EOS)
        if hits.size:
            row[hits[0]:] = EOS
    return sequences


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_decoding_equals_the_step_by_step_reference(cell):
    model = captioner(cell, num_layers=2)
    pixels = images(6)
    decoded = model.decode(pixels, max_len=5)
    assert decoded.shape == (6, 5) and decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, fill_after_eos(reference_greedy(model, pixels, 5)))
    np.testing.assert_array_equal(model.decode(pixels, max_len=5, beam_width=1), decoded)


def brute_force_best(model, pixels, max_len, length_penalty=0.0):
    """The most likely sequence of every image among all VOCAB ** max_len, each scored by
    sequence_log_prob (teacher forcing) up to its first eos."""
    candidates = fill_after_eos(np.array(list(itertools.product(range(VOCAB), repeat=max_len))))
    candidates = np.unique(candidates, axis=0)
    lengths = np.array([(np.flatnonzero(row == EOS)[0] + 1) if EOS in row else max_len
                        for row in candidates])
    best = []
    for image in pixels:
        repeated = np.repeat(image[None], len(candidates), axis=0)
        scores = model.sequence_log_prob(repeated, candidates) / lengths ** length_penalty
        best.append(candidates[np.argmax(scores)])
    return np.array(best)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_most_likely_sequence(cell, length_penalty):
    model = captioner(cell)
    pixels = images(3)
    # a beam as wide as every prefix of max_len - 1 tokens is an exhaustive search
    decoded = model.decode(pixels, max_len=3, beam_width=VOCAB ** 2,
                           length_penalty=length_penalty)
    np.testing.assert_array_equal(decoded, brute_force_best(model, pixels, 3, length_penalty))


def test_beam_search_beats_or_ties_greedy_on_average_log_probability():
    model = captioner("lstm", seed=3)
    pixels = images(40, seed=2)
    greedy = model.decode(pixels, max_len=4)
    beam = model.decode(pixels, max_len=4, beam_width=VOCAB ** 3)  # exhaustive
    assert (model.sequence_log_prob(pixels, beam)
            >= model.sequence_log_prob(pixels, greedy) - 1e-6).all()
    assert (beam != greedy).any()  # the test data is one where greedy is not always best


def test_sequence_log_prob_sums_the_step_log_probabilities_up_to_eos():
    model = captioner()
    pixels = images(2)
    target = np.array([[1, EOS, 3], [2, 0, 1]])
    with annie.no_grad():
        logits = model(pixels, target).data.astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = [log_probs[0, 0, 1] + log_probs[0, 1, EOS],
                log_probs[1, 0, 2] + log_probs[1, 1, 0] + log_probs[1, 2, 1]]
    np.testing.assert_allclose(model.sequence_log_prob(pixels, target), expected, rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_reach_the_image_through_the_initial_state(cell):
    model = captioner(cell).double()
    target = np.array([[1, 2, EOS], [3, EOS, -100]])
    pixels = annie.tensor(images(2).astype(np.float64), requires_grad=True)
    gradcheck(lambda x: nn.sequence_cross_entropy(model(x, target), target), [pixels])
    nn.sequence_cross_entropy(model(pixels, target), target).backward()
    assert np.abs(pixels.grad).min() > 0  # every pixel of both images moves the loss


@pytest.mark.parametrize("cell", CELLS)
def test_save_load_round_trip(tmp_path, cell):
    model = captioner(cell, num_layers=2)
    pixels = images(5)
    path = tmp_path / "captioner.annie"
    annie.save(model, path)
    loaded = annie.load(path)
    assert type(loaded) is nn.ImageCaptioner and loaded.eos_index == EOS
    target = np.array([[1, 2, 3]] * 5)
    np.testing.assert_array_equal(loaded(pixels, target).data, model(pixels, target).data)
    np.testing.assert_array_equal(loaded.decode(pixels, 4, beam_width=3),
                                  model.decode(pixels, 4, beam_width=3))


def test_digit_captions_are_the_names_with_an_end_mark():
    task = annie.data.load_digit_captions(test_size=0.25, seed=0)
    assert task.X_train.shape == (1347, 64) and task.X_test.shape == (450, 64)
    assert task.X_train.dtype == np.float32 and 0 <= task.X_train.min() <= task.X_train.max() <= 1
    assert task.y_train.shape == (1347, 6) and task.y_train.dtype == np.int64
    for ids, label in zip(task.y_test[:50], task.labels_test[:50]):
        name = annie.data.DIGIT_NAMES[label]
        assert task.vocab.decode(ids[:len(name) + 1]) == name + "."
        assert (ids[len(name) + 1:] == -100).all()
    assert task.texts(task.y_test[:3]) == [annie.data.DIGIT_NAMES[i] for i in task.labels_test[:3]]
    assert task.max_len == 6 and task.vocab.chars[task.eos_index] == "."
    assert task.majority_name() in annie.data.DIGIT_NAMES


def test_learns_to_name_the_digits():
    task = annie.data.load_digit_captions(seed=0)
    annie.manual_seed(0)
    model = nn.ImageCaptioner(64, len(task.vocab), hidden_size=32, bos_index=task.bos_index,
                              eos_index=task.eos_index)
    optimizer = annie.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(8):
        for start in range(0, len(task.X_train), 50):
            rows = slice(start, start + 50)
            loss = nn.sequence_cross_entropy(model(task.X_train[rows], task.y_train[rows]),
                                             task.y_train[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    written = task.texts(model.decode(task.X_test, max_len=task.max_len, beam_width=2))
    truth = task.texts(task.y_test)
    assert np.mean([w == t for w, t in zip(written, truth)]) > 0.8
    baseline = nn.character_error_rate([task.majority_name()] * len(truth), truth)
    assert nn.character_error_rate(written, truth) < baseline / 3


def test_edit_distance_and_character_error_rate():
    assert nn.edit_distance("kitten", "sitting") == 3
    assert nn.edit_distance("flaw", "lawn") == 2
    assert nn.edit_distance("", "abc") == 3 and nn.edit_distance("abc", "") == 3
    assert nn.edit_distance([1, 2, 3], [1, 3]) == 1
    assert nn.character_error_rate(["seven", "on"], ["seven", "one"]) == pytest.approx(1 / 8)
    assert nn.character_error_rate(["ab"], ["ab"]) == 0.0
    with pytest.raises(ShapeError, match="2 predictions for 1 references"):
        nn.character_error_rate(["a", "b"], ["a"])


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="cell"):
        nn.ImageCaptioner(4, 5, cell="transformer")
    with pytest.raises(ConfigError, match="eos_index 5 is outside"):
        nn.ImageCaptioner(4, 5, eos_index=5)
    with pytest.raises(ConfigError, match="hidden_size"):
        nn.ImageCaptioner(4, 5, hidden_size=0)
    model = captioner()
    with pytest.raises(ConfigError, match="beam_width"):
        model.decode(images(1), 3, beam_width=0)
    with pytest.raises(ShapeError, match=r"images must be \(batch, 5\)"):
        model.decode(np.zeros((2, 4), np.float32), 3)


def test_paired_form_equals_the_plain_model_and_trains_with_fit(tmp_path):
    plain = captioner("lstm")
    paired = nn.PairedImageCaptioner(**plain._init_args["kwargs"])
    paired.load_state_dict(plain.state_dict())
    pixels = images(3)
    target = np.array([[1, 2, EOS], [3, EOS, -100], [0, 0, 0]])
    pairs = np.concatenate([pixels, target.astype(np.float32)], axis=1)
    np.testing.assert_array_equal(paired(pairs).data, plain(pixels, target).data)
    np.testing.assert_array_equal(paired.decode(pairs, 4), plain.decode(pixels, 4))
    np.testing.assert_array_equal(paired.decode(pixels, 4), plain.decode(pixels, 4))
    annie.save(paired, tmp_path / "paired.annie")
    np.testing.assert_array_equal(annie.load(tmp_path / "paired.annie")(pairs).data,
                                  paired(pairs).data)
    before = float(nn.sequence_cross_entropy(paired(pairs), target).data)
    annie.fit(paired, nn.sequence_cross_entropy, annie.optim.Adam(paired.parameters(), lr=1e-2),
              pairs, target, epochs=20, batch_size=3, verbose=0)
    assert float(nn.sequence_cross_entropy(paired(pairs), target).data) < before / 2
    with pytest.raises(ShapeError, match=r"pairs must be \(batch, 5 \+ target length\)"):
        paired(pixels[:, :4])
    with pytest.raises(annie.DTypeError, match="whole token ids"):
        paired(np.concatenate([pixels, np.full((3, 2), 0.5, np.float32)], axis=1))


def test_bad_inputs_are_refused_with_their_names():
    model = captioner()
    for penalty in (float("nan"), float("inf"), -1.0, "1", None):
        with pytest.raises(ConfigError, match="length_penalty must be a finite number >= 0"):
            model.decode(images(2), 3, beam_width=2, length_penalty=penalty)
    with pytest.raises(ShapeError, match=r"T >= 1, got shape \(2, 0\)"):
        model(images(2), np.zeros((2, 0), np.int64))
    with pytest.raises(annie.DTypeError, match="predicted must be a list of texts"):
        nn.character_error_rate("abc", ["abd"])
    with pytest.raises(annie.DTypeError, match="references must be a list of texts"):
        nn.character_error_rate(["abc"], "abd")


def test_an_empty_batch_writes_nothing():
    model = captioner("lstm", num_layers=2)
    for width in (1, 3):
        assert model.decode(np.zeros((0, 5), np.float32), 4, beam_width=width).shape == (0, 4)
    assert model(np.zeros((0, 5), np.float32), np.zeros((0, 3), np.int64)).shape == (0, 3, VOCAB)


@pytest.mark.parametrize("labels, message", [
    (np.array([-1]), "digits 0..9, got -1"), (np.array([3, 10]), "digits 0..9, got 10"),
    (np.array([2.0]), "integer array"), (np.array([[1, 2]]), r"shape \(1, 2\)")])
def test_caption_targets_refuse_what_is_not_a_digit(labels, message):
    vocab = annie.data.load_digit_captions().vocab
    with pytest.raises(annie.DataError, match=message):
        annie.data.caption_targets(labels, vocab)
