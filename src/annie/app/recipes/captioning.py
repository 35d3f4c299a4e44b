"""The one-to-many kind of the lecture's table, text from an image: an image captioner reads one
8x8 digit image and writes the digit's English name character by character, trained with
teacher forcing through ``fit`` (image and target side by side, ``nn.PairedImageCaptioner``)
and scored by greedy or beam-search decoding."""
from __future__ import annotations

import numpy as np

from ... import data
from ...nn import captioning
from ..schema import Key, positive
from .base import Scores, Split
from .sequence import model_keys
from .sequence_text import CharacterRecipe


class ImageCaptionerRecipe(CharacterRecipe):
    """one-to-many: a static input -> a sequence (8x8 digit images -> their English names,
    written character by character; greedy or beam-search decoding)."""

    model_type = "image_captioner"
    task = "captioning"
    datasets = {"digit_names": "8x8 digit images -> the digit's English name, character by "
                               "character"}
    model_class = captioning.PairedImageCaptioner
    keys = {**model_keys(model_class),
            "decode.beam_width": Key((int,), 1, "beams kept when the model writes "
                                                "(image_captioner; 1: greedy decoding)",
                                     check=positive)}
    defaults = {"loss.name": "sequence_cross_entropy", "train.metrics": []}

    def prepare_dataset(self, name: str) -> Split:
        task = data.load_digit_captions(test_size=self.get("data.test_size"),
                                        seed=self.get("seed"))

        def pairs(images, targets):  # one row: the pixels, then the target's ids
            return np.concatenate([images, targets.astype(images.dtype)], axis=1)
        info = {"sizes": {"input_size": int(task.X_train.shape[1]),
                          "vocab_size": len(task.vocab), "bos_index": task.bos_index,
                          "eos_index": task.eos_index},
                "chars": "".join(task.vocab.chars), "majority": task.majority_name()}
        return Split(pairs(task.X_train, task.y_train), task.y_train,
                     pairs(task.X_test, task.y_test), task.y_test, info)

    def score(self, model, split: Split) -> Scores:
        vocab = data.CharVocab(split.info["chars"])
        decoded = model.decode(split.X_test, max_len=split.y_test.shape[1],
                               beam_width=self.get("decode.beam_width"))
        written = data.caption_texts(decoded, vocab)
        truth = data.caption_texts(split.y_test, vocab)
        majority = split.info["majority"]

        def scores(texts):
            return {"exact_match": float(np.mean([a == b for a, b in zip(texts, truth)])),
                    "cer": captioning.character_error_rate(texts, truth)}
        examples = ", ".join(f"{t} -> {w!r}" for t, w in zip(truth[:5], written))
        return Scores(scores(written), scores([majority] * len(truth)),
                      f"always {majority!r}", lines=[f"examples: {examples}"])
