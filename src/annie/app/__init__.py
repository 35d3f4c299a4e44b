"""What the ``annie`` command does, as a library: configurations, recipes and run folders.

- ``annie.app.config``: the configuration schema (``schema()``), reading TOML with ``--set``
  overrides (``load_config``), validation, and writing the resolved configuration.
- ``annie.app.recipes``: one **recipe** per run kind (tabular classifier, tabular regressor,
  and each sequence kind), resolved once from a configuration by ``recipes.resolve``. A recipe
  decides the task, the loss and the output layer it needs, the label encoding, the metrics
  that fit, the preprocessing (an ``nn.Normalization`` layer inside the model), how its data
  are read and split, how a model is scored beside a trivial baseline, and what its run folder
  keeps. Nothing outside the recipes asks what kind of run it is.
- ``annie.app.rundir``: run folders that stand alone, written without ever destroying a run.
- ``annie.app.run``: train a configuration into a run folder; evaluate and predict with one.
- ``annie.app.presets``: the example configurations installed with annie.

Adding a run kind (e.g. image captioning) is one class in one place: subclass
``recipes.Recipe`` (or ``recipes.sequence.SequenceRecipe`` for a sequence model) in a module of
``annie/app/recipes/``, set ``model_type``, ``task``, ``keys`` (its own configuration keys, as
``schema.Key``), ``defaults``, ``losses``, ``metrics`` and ``datasets``; implement
``prepare`` (data -> ``Split``), ``build_model`` (or ``model_class`` for a sequence kind) and
``score`` (-> ``Scores`` beside a baseline); then ``register`` it in
``annie/app/recipes/__init__.py``. The configuration schema, ``annie list``, ``docs/cli.md``,
validation (keys that do not apply, losses and metrics that do not fit), training, run folders
and ``annie evaluate`` pick it up from there. Add a preset file to ``annie/app/configs/``.

Dependency direction: ``schema`` <- ``recipes`` <- ``config`` <- ``rundir``, ``run`` <- the
command line; ``tests/test_app_layers.py`` checks that no module imports one to its right.
"""
