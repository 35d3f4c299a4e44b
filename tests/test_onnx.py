"""annie.onnx: every exportable architecture runs in onnxruntime and gives annie's outputs
(float32, to 1e-5) on random inputs of another batch size and length than the export example;
layers that cannot be exported are refused by name."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import annie  # noqa: E402
from annie import nn  # noqa: E402
from annie.nn.activation import ACTIVATIONS as ACTIVATION_CLASSES  # noqa: E402
from annie.onnx import ExportError, example_input, export, export_run, exportable_layers  # noqa: E402,E501
from annie.onnx.registry import CONVERTERS  # noqa: E402

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def _floats(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def _annie(model, x, lengths=None):
    """annie's outputs for x (in the model's dtype) as a list of arrays (tuples flattened),
    in evaluation mode."""
    was_training = model.training
    model.eval()
    if x.dtype.kind == "f":
        x = annie.tensor(x.astype(model.parameters()[0].dtype))
    with annie.no_grad():
        result = model(x, **({} if lengths is None else {"lengths": lengths}))
    model.train(was_training)
    flat = []

    def collect(value):
        if isinstance(value, tuple):
            for item in value:
                collect(item)
        else:
            flat.append(value.data)
    collect(result)
    return flat


def _roundtrip(tmp_path, model, example, x, example_lengths=None, lengths=None):
    """Export with (example, example_lengths), run onnxruntime on (x, lengths), compare with
    annie on the same inputs; returns the session."""
    path = tmp_path / "model.onnx"
    export(model, path, example, lengths=example_lengths)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input": x}
    if lengths is not None:
        feeds["lengths"] = np.asarray(lengths, dtype=np.int64)
    got = session.run(None, feeds)
    expected = _annie(model, x, lengths)
    assert len(got) == len(expected)
    for ours, theirs in zip(expected, got):
        assert theirs.shape == ours.shape
        np.testing.assert_allclose(theirs, ours, **TOLERANCE)
    error = max(float(np.max(np.abs(theirs - ours))) for ours, theirs in zip(expected, got))
    print(f"onnxruntime vs annie, largest absolute difference: {error:.3g}")  # shown with -s
    return session


# ----- feedforward ---------------------------------------------------------------------------
ACTIVATIONS = {cls.__name__: cls for cls in ACTIVATION_CLASSES.values()}
ACTIVATION_OPTIONS = {"LeakyReLU": dict(negative_slope=0.2), "ELU": dict(alpha=0.7),
                      "Softplus": dict(beta=1.5, threshold=4.0), "Softmax": dict(dim=1),
                      "LogSoftmax": dict(dim=-1)}


def test_every_layer_class_of_annie_nn_has_a_converter():
    from annie.nn.rnn import RecurrentLayer
    missing = []
    for name in nn.__all__:
        value = getattr(nn, name)
        if isinstance(value, type) and issubclass(value, nn.Module) \
                and value not in CONVERTERS and value not in (nn.Module, RecurrentLayer):
            missing.append(name)
    # the containers and per-step cells have no single graph; the generation models loop
    assert sorted(missing) == sorted(["ModuleList", "RNNCell", "LSTMCell", "GRUCell",
                                      "SequenceEncoder", "Seq2Seq", "CharLanguageModel",
                                      "ImageCaptioner", "PairedImageCaptioner"])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_mlp_with_each_activation(tmp_path, activation):
    annie.manual_seed(0)
    layer = ACTIVATIONS[activation](**ACTIVATION_OPTIONS.get(activation, {}))
    model = nn.Sequential(nn.Linear(5, 16), layer, nn.Linear(16, 3), type(layer)(
        **ACTIVATION_OPTIONS.get(activation, {})))
    _roundtrip(tmp_path, model, _floats(2, 5), _floats(9, 5, seed=1, scale=3.0))


@pytest.mark.parametrize("affine", [True, False])
def test_mlp_with_dropout_and_layer_norm(tmp_path, affine):
    annie.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 12), nn.LayerNorm(12, eps=1e-3, elementwise_affine=affine),
                          nn.ReLU(), nn.Dropout(0.5), nn.Linear(12, 12), nn.Tanh(),
                          nn.Dropout(0.2), nn.Linear(12, 4))
    if affine:
        model[1].weight.data[:] = _floats(12, seed=5)
        model[1].bias.data[:] = _floats(12, seed=6)
    model.train()  # export switches to evaluation mode itself and puts the mode back
    _roundtrip(tmp_path, model, _floats(3, 6), _floats(17, 6, seed=2))
    assert model.training


def test_flatten_on_images_and_a_layer_norm_over_two_axes(tmp_path):
    annie.manual_seed(2)
    model = nn.Sequential(nn.Flatten(start_dim=2), nn.Linear(12, 5), nn.LayerNorm((2, 5)),
                          nn.Flatten(), nn.Linear(10, 3))
    _roundtrip(tmp_path, model, _floats(2, 2, 3, 4), _floats(6, 2, 3, 4, seed=3))


def test_embedding_flatten_linear_on_token_ids(tmp_path):
    annie.manual_seed(3)
    model = nn.Sequential(nn.Embedding(20, 4, padding_idx=0), nn.Flatten(), nn.Linear(24, 2))
    tokens = np.random.default_rng(0).integers(0, 20, size=(11, 6))
    session = _roundtrip(tmp_path, model, tokens[:2], tokens)
    assert session.get_inputs()[0].type == "tensor(int64)"
    assert session.get_inputs()[0].shape == ["batch", 6]


@pytest.mark.skipif(not hasattr(nn, "Normalization"), reason="annie.nn.Normalization is not in "
                    "this version of annie")
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_layer(tmp_path, invert):
    annie.manual_seed(4)
    normalization = nn.Normalization(3, invert=invert).adapt(_floats(50, 3, seed=7, scale=4) + 2)
    model = nn.Sequential(normalization, nn.Linear(3, 2))
    _roundtrip(tmp_path, model, _floats(2, 3), _floats(5, 3, seed=8, scale=5))


# ----- recurrent layers ----------------------------------------------------------------------
RECURRENT = [
    ("rnn", dict()), ("rnn", dict(nonlinearity="relu", num_layers=2)),
    ("lstm", dict()), ("lstm", dict(num_layers=2)), ("lstm", dict(bidirectional=True)),
    ("lstm", dict(num_layers=2, bidirectional=True)), ("lstm", dict(bias=False)),
    ("gru", dict()), ("gru", dict(num_layers=3)), ("gru", dict(bidirectional=True)),
    ("gru", dict(num_layers=2, bidirectional=True, batch_first=False)),
    ("rnn", dict(num_layers=2, bidirectional=True)),
]
CELL_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("cell, options", RECURRENT,
                         ids=[f"{c}-{'-'.join(f'{k}={v}' for k, v in o.items())}"
                              for c, o in RECURRENT])
def test_recurrent_layers(tmp_path, cell, options, with_lengths):
    annie.manual_seed(5)
    layer = CELL_CLASSES[cell](3, 6, dropout=0.3 if options.get("num_layers", 1) > 1 else 0.0,
                               **options)
    example, x = _floats(2, 4, 3), _floats(5, 9, 3, seed=9)
    example_lengths = lengths = None
    if with_lengths:
        example_lengths, lengths = [4, 2], [9, 1, 4, 7, 3]
    if not layer.batch_first:
        example, x = example.transpose(1, 0, 2).copy(), x.transpose(1, 0, 2).copy()
    session = _roundtrip(tmp_path, layer, example, x, example_lengths, lengths)
    names = [output.name for output in session.get_outputs()]
    assert names == (["output", "h_n", "c_n"] if cell == "lstm" else ["output", "h_n"])
    expected_input = ["batch", "time", 3] if layer.batch_first else ["time", "batch", 3]
    assert session.get_inputs()[0].shape == expected_input


def test_stateful_layer_is_refused_by_name(tmp_path):
    with pytest.raises(ExportError, match=r"model \(LSTM\(stateful=True\)\)"):
        export(nn.LSTM(2, 3, stateful=True), tmp_path / "m.onnx", _floats(1, 3, 2))


# ----- sequence models -----------------------------------------------------------------------
def _tokens(batch, steps, vocab=30, seed=0, lengths=None, padding_idx=0):
    tokens = np.random.default_rng(seed).integers(1, vocab, size=(batch, steps))
    if lengths is not None:
        for row, length in enumerate(lengths):
            tokens[row, length:] = padding_idx
    return tokens


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_classifier_on_features(tmp_path, cell, bidirectional):
    annie.manual_seed(6)
    model = nn.SequenceClassifier(input_size=4, hidden_size=7, num_classes=3, cell=cell,
                                  num_layers=2, bidirectional=bidirectional)
    _roundtrip(tmp_path, model, _floats(2, 5, 4), _floats(6, 11, 4, seed=10), [5, 3],
               [11, 2, 8, 1, 5, 9])


def test_sequence_classifier_on_padded_tokens_counts_lengths_in_the_graph(tmp_path):
    annie.manual_seed(7)
    model = nn.SequenceClassifier(vocab_size=30, embedding_dim=5, padding_idx=0, hidden_size=6,
                                  num_classes=4, cell="gru", bidirectional=True)
    example = _tokens(2, 4, lengths=[4, 2])
    x = _tokens(5, 12, seed=1, lengths=[12, 3, 7, 1, 9])
    _roundtrip(tmp_path, model, example, x)  # no lengths input: counted from the padding


@pytest.mark.parametrize("output_size, two_d, scale, loc", [
    (1, True, 1.0, 0.0), (1, False, 1.0, 0.0), (3, False, 1.0, 0.0), (1, True, 25.0, 0.0),
    (3, False, 0.5, 0.0), (1, True, 1.0, -3.0), (1, True, 25.0, 480.0), (3, False, 0.5, -2.5)])
def test_sequence_regressor(tmp_path, output_size, two_d, scale, loc):
    """Sub/Div before the encoder and Mul/Add after the head, each only where it acts."""
    annie.manual_seed(8)
    input_size = 1 if two_d else 2
    model = nn.SequenceRegressor(input_size=input_size, hidden_size=5, output_size=output_size,
                                 cell="lstm", num_layers=2, scale=scale, loc=loc)
    shape = (lambda b, t: (b, t)) if two_d else (lambda b, t: (b, t, 2))
    session = _roundtrip(tmp_path, model, _floats(*shape(3, 6), scale=scale) + np.float32(loc),
                         _floats(*shape(8, 10), seed=11, scale=scale) + np.float32(loc))
    assert session.get_outputs()[0].shape == (["batch"] if output_size == 1 else ["batch", 3])
    ops = [node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node]
    assert ("Div" in ops and "Mul" in ops) == (scale != 1.0)
    assert ("Sub" in ops and "Add" in ops) == (loc != 0.0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sequence_tagger(tmp_path, cell):
    annie.manual_seed(9)
    model = nn.SequenceTagger(vocab_size=25, embedding_dim=4, padding_idx=0, hidden_size=5,
                              num_tags=6, cell=cell, num_layers=2)
    x = _tokens(4, 9, vocab=25, seed=2, lengths=[9, 4, 6, 2])
    session = _roundtrip(tmp_path, model, _tokens(2, 5, vocab=25, lengths=[5, 3]), x)
    assert session.get_outputs()[0].shape == ["batch", "time", 6]


def test_tagger_with_a_lengths_input(tmp_path):
    annie.manual_seed(10)
    model = nn.SequenceTagger(input_size=3, hidden_size=4, num_tags=2, cell="rnn")
    _roundtrip(tmp_path, model, _floats(2, 4, 3), _floats(3, 7, 3, seed=12), [4, 2], [7, 5, 1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_models_from_annie_sklearn(tmp_path):
    pytest.importorskip("sklearn")
    from annie.sklearn import MLPClassifier, SequenceRegressor
    X = _floats(60, 4, seed=13).astype(np.float64)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    classifier = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    _roundtrip(tmp_path, classifier.model_, X[:2], X.astype(np.float32))
    regressor = SequenceRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, X[:, 0])
    _roundtrip(tmp_path, regressor.model_, X[:2, :, None], X[:, :, None].astype(np.float32))


# ----- refusals and files ----------------------------------------------------------------------
class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_a_layer_without_converter_is_refused_with_its_name(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), Doubler())
    with pytest.raises(ExportError, match=r"cannot export model\.1 \(Doubler\).*exportable "
                                          r"layers are .*Linear"):
        export(model, tmp_path / "m.onnx", _floats(1, 2))
    with pytest.raises(ExportError, match=r"cannot export model \(Seq2Seq\)"):
        export(nn.Seq2Seq(5, 5, hidden_size=3), tmp_path / "m.onnx", _tokens(1, 3, vocab=5))
    with pytest.raises(ExportError, match="lengths given, but Sequential takes no lengths"):
        export(nn.Sequential(nn.Linear(2, 3)), tmp_path / "m.onnx", _floats(1, 2), lengths=[1])
    assert "Linear" in exportable_layers() and "LSTM" in exportable_layers()


def test_a_refused_export_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.onnx"
    export(nn.Sequential(nn.Linear(2, 3)), path, _floats(1, 2))
    before = path.read_bytes()
    with pytest.raises(ExportError):
        export(nn.Sequential(nn.Linear(2, 3), Doubler()), path, _floats(1, 2))
    assert path.read_bytes() == before
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {p.key: p.value for p in model.metadata_props}["annie_model"] == "Sequential"


# ----- run folders and the command line -------------------------------------------------------
def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)),
    lambda: nn.SequenceClassifier(input_size=2, hidden_size=4, num_classes=3),
    lambda: nn.SequenceTagger(vocab_size=9, hidden_size=4, num_tags=2, padding_idx=0),
    lambda: nn.GRU(3, 4, batch_first=False),
], ids=["mlp", "sequence-classifier", "tagger-on-tokens", "time-first-gru"])
def test_export_run_takes_the_input_shape_from_the_model(tmp_path, build):
    annie.manual_seed(11)
    model = build()
    annie.save(model, tmp_path / "model.annie")
    export_run(tmp_path, tmp_path / "run.onnx")
    example = example_input(model)
    grown = np.concatenate([example] * 3, axis=1 if isinstance(model, nn.GRU) else 0)
    for ours, theirs in zip(_annie(model, grown), _session(tmp_path / "run.onnx").run(
            None, {"input": grown})):
        np.testing.assert_allclose(theirs, ours, **TOLERANCE)


def test_annie_export_of_a_trained_run(tmp_path, capsys):
    from annie.cli import main
    run = tmp_path / "iris"
    assert main(["train", "iris", "--out", str(run), "--quiet", "--set", "train.epochs=2"]) == 0
    assert main(["export", str(run), "--onnx", str(tmp_path / "iris.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out
    exported = onnx.load(str(tmp_path / "iris.onnx"))
    described = __import__("json").loads(
        {p.key: p.value for p in exported.metadata_props}["annie_run"])
    assert described["info"]["classes"] == ["setosa", "versicolor", "virginica"]
    model = annie.load(run / "model.annie")
    assert type(model[0]).__name__ == "Normalization"  # the scaling travels inside the model
    raw, _ = annie.data.load_iris()
    logits, = _session(tmp_path / "iris.onnx").run(None, {"input": raw})
    np.testing.assert_allclose(logits, _annie(model, raw)[0], **TOLERANCE)


def test_annie_export_refuses_with_one_line(tmp_path, capsys):
    from annie.cli import main
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "run folder" in capsys.readouterr().err
    folder = tmp_path / "text"
    folder.mkdir()
    annie.save(nn.CharLanguageModel(5, hidden_size=3), folder / "model.annie")
    (folder / "run.json").write_text("{}")
    assert main(["export", str(folder), "--onnx", str(tmp_path / "m.onnx")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("annie: error: cannot export model (CharLanguageModel)")
    assert error.count("\n") == 1 and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("target", ["model.annie", "run.json", "sub/notes.txt"])
def test_export_run_never_writes_over_the_runs_own_files(tmp_path, capsys, target):
    from annie.cli import main
    run = tmp_path / "run"
    (run / "sub").mkdir(parents=True)
    annie.save(nn.Sequential(nn.Linear(2, 3)), run / "model.annie")
    (run / "run.json").write_text("{}")
    (run / "sub" / "notes.txt").write_text("kept")
    before = (run / target).read_bytes()
    assert main(["export", str(run), "--onnx", str(run / target)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("annie: error: ") and "run folder" in error and target in error
    assert (run / target).read_bytes() == before
    export_run(run, run / "model.onnx")  # a new file in the folder, and again over it
    export_run(run, run / "model.onnx")
    assert _session(run / "model.onnx").run(None, {"input": _floats(4, 2)})[0].shape == (4, 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_export_options_and_inputs_are_checked(tmp_path):
    pytest.importorskip("sklearn")
    from annie.sklearn import MLPClassifier
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(annie.errors.ConfigError, match=r"opset must be an int from 17 to \d+"):
        export(model, tmp_path / "m.onnx", _floats(1, 3), opset=onnx.defs.onnx_opset_version() + 1)
    assert not (tmp_path / "m.onnx").exists()
    export(model, tmp_path / "m.onnx", np.array([[1, 2, 3]]))  # integers for a float model
    got, = _session(tmp_path / "m.onnx").run(None, {"input": _floats(5, 3)})
    np.testing.assert_allclose(got, _annie(model, _floats(5, 3))[0], **TOLERANCE)
    X = _floats(20, 3).astype(np.float64)
    fitted = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, np.arange(20) % 2)
    with pytest.raises(ExportError, match=r"got MLPClassifier; .*export its model_"):
        export(fitted, tmp_path / "m.onnx", X[:1])
