"""Text generation one character at a time: ``CharLanguageModel.generate`` (a 2-layer character
LSTM, hidden 256) against the same loop written in PyTorch (the seed through the model once,
then per character: sample from softmax(logits), feed the character back with the state).
Time per generated character; both sample with temperature 1 from the same weights."""
from __future__ import annotations

from ..harness import Contender, Settings, WorkloadResult, measure
from .common import annie_missing, copy_weights_to_torch, import_torch

GENERATION = {"vocab": 65, "embedding": 64, "hidden": 256, "layers": 2, "characters": 500}
TINY_GENERATION = {"vocab": 7, "embedding": 4, "hidden": 6, "layers": 2, "characters": 20}
SEED_TEXT = "To be, or not"


def _torch_generator(model, sizes: dict, seed_ids: list):
    import torch

    class CharLanguageModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(sizes["vocab"], sizes["embedding"])
            self.rnn = torch.nn.LSTM(sizes["embedding"], sizes["hidden"],
                                     num_layers=sizes["layers"], batch_first=True)
            self.head = torch.nn.Linear(sizes["hidden"], sizes["vocab"])

        def forward(self, ids, state=None):
            output, state = self.rnn(self.embedding(ids), state)
            return self.head(output), state

    twin = CharLanguageModel().eval()
    copy_weights_to_torch(model, twin)
    generator = torch.Generator().manual_seed(0)
    seed = torch.tensor([seed_ids])

    def generate():
        with torch.no_grad():
            logits, state = twin(seed)
            ids = []
            for position in range(sizes["characters"]):
                probs = torch.softmax(logits[0, -1], dim=-1)
                token = torch.multinomial(probs, 1, generator=generator)
                ids.append(int(token))
                if position + 1 < sizes["characters"]:
                    logits, state = twin(token.view(1, 1), state)
        return ids
    return generate


def run_generation(settings: Settings, results: dict) -> WorkloadResult:
    """Seconds per generated character, 500 characters per call, temperature 1."""
    import annie
    sizes = TINY_GENERATION if settings.tiny else GENERATION
    result = WorkloadResult("generation", f"generate {sizes['characters']} characters one step "
                                          f"at a time, {sizes['layers']}-layer char LSTM, "
                                          f"hidden {sizes['hidden']}, vocab {sizes['vocab']}",
                            unit="s/char")
    reason = annie_missing("nn.CharLanguageModel")
    annie.manual_seed(settings.seed)
    chars = "".join(chr(32 + i) for i in range(sizes["vocab"]))
    seed_text = "".join(chars[ord(c) % sizes["vocab"]] for c in SEED_TEXT)
    contenders = []
    model = None
    if reason:
        result.skipped["annie"] = reason
    else:
        model = annie.nn.CharLanguageModel(sizes["vocab"], hidden_size=sizes["hidden"],
                                           embedding_dim=sizes["embedding"], cell="lstm",
                                           num_layers=sizes["layers"], chars=chars)
        contenders.append(Contender("annie", lambda: model.generate(seed_text,
                                                                    sizes["characters"]),
                                    steps=sizes["characters"]))
    if import_torch() is None:
        result.skipped["torch"] = "torch is not installed"
    elif model is not None:
        seed_ids = [chars.index(c) for c in seed_text]
        contenders.append(Contender("torch", _torch_generator(model, sizes, seed_ids),
                                    steps=sizes["characters"]))
    # one call generates hundreds of characters: one call per timed block
    single = Settings(**{**settings.__dict__, "steps_per_block": 1})
    return measure(result, contenders, single)

