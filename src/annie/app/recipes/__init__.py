"""Every run kind of ``annie train``, one recipe class each, and ``resolve(config)``: the one
place a configuration becomes a recipe.

``model.type`` names a family (``MODEL_TYPES``, a registry with the usual name handling); a
family with several kinds (the MLP: classifier and regressor) is split by ``data.task``, else by
the kind whose losses include ``loss.name``, else its first kind.
"""
from __future__ import annotations

from ... import data
from ...errors import ConfigError
from ...registry import Registry
from ..schema import choice_words
from .base import Prediction, Recipe, Scores, Split
from .captioning import ImageCaptionerRecipe
from .classifier import TabularClassifier
from .regressor import TabularRegressor
from .sequence import SequenceClassifierRecipe, SequenceRegressorRecipe
from .sequence_text import CharLanguageModelRecipe, Seq2SeqRecipe, SequenceTaggerRecipe

#: model.type -> the recipe classes of that family (a list; the first is the default)
MODEL_TYPES: Registry[list] = Registry("model.type")


def register(recipe: type[Recipe]) -> type[Recipe]:
    """Add a recipe class under its ``model_type`` (usable as a class decorator); its
    ``family`` is the list of that model type's kinds."""
    if recipe.model_type in MODEL_TYPES:
        MODEL_TYPES.lookup(recipe.model_type).append(recipe)
    else:
        MODEL_TYPES.register(recipe.model_type, [recipe])
    recipe.family = MODEL_TYPES.lookup(recipe.model_type)
    return recipe


for _recipe in (TabularClassifier, TabularRegressor, SequenceClassifierRecipe,
                SequenceRegressorRecipe, SequenceTaggerRecipe, Seq2SeqRecipe,
                CharLanguageModelRecipe, ImageCaptionerRecipe):
    register(_recipe)


def kind_name(recipe: type[Recipe]) -> str:
    """The model type, with the task when its family has several kinds: "mlp (regression)"."""
    family = MODEL_TYPES.lookup(recipe.model_type)
    return f"{recipe.model_type} ({recipe.task})" if len(family) > 1 else recipe.model_type


def all_recipes() -> list[type[Recipe]]:
    """Every registered recipe class, family by family."""
    return [recipe for family in MODEL_TYPES.values() for recipe in family]


def sequence_datasets() -> dict[str, type[Recipe]]:
    """Dataset name -> the recipe that trains on it (the kinds that list ``datasets``)."""
    return {name: recipe for recipe in all_recipes() for name in recipe.datasets}


def _choose(family: list, config: dict, source: str) -> type[Recipe]:
    if len(family) == 1:
        return family[0]
    task = config["data"].get("task")
    if task not in (None, "auto"):
        for recipe in family:
            if recipe.task == task:
                return recipe
        tasks = ["auto"] + [recipe.task for recipe in family]
        raise ConfigError(f"{source}: data.task must be {choice_words(tasks)}, got {task!r}")
    loss = config["loss"]["name"]
    if loss is not None:
        from ... import losses
        try:
            canonical = losses.LOSSES.canonical(loss)
        except ConfigError as error:
            raise ConfigError(f"{source}: loss.name: {error}") from None
        for recipe in family:
            if canonical in recipe.losses or canonical in recipe.refused_losses:
                return recipe
    return family[0]


def resolve(config: dict, source: str = "config") -> Recipe:
    """The recipe of a configuration (with the defaults it decides filled in); ConfigError
    naming the key when the configuration does not describe a run annie can do."""
    try:
        family = MODEL_TYPES.lookup(config["model"]["type"])
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    dataset = config["data"]["dataset"]
    datasets = sequence_datasets()
    if dataset is not None and dataset not in datasets and dataset not in data.list_datasets():
        import difflib
        names = sorted({*data.list_datasets(), *datasets})
        close = difflib.get_close_matches(dataset, names, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{source}: unknown data.dataset {dataset!r}{hint}; valid: "
                          f"{', '.join(names)}")
    recipe_class = _choose(family, config, source)
    if dataset in datasets and not recipe_class.datasets:
        kind = datasets[dataset].model_type
        raise ConfigError(f"{source}: data.dataset {dataset!r} is a sequence dataset: set "
                          f"model.type = {kind!r}")
    return recipe_class(config, source)


__all__ = ["MODEL_TYPES", "Prediction", "Recipe", "Scores", "Split", "all_recipes", "kind_name",
           "register",
           "resolve", "sequence_datasets"]
