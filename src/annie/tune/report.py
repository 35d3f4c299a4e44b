"""What a search leaves in its output folder, each file written atomically:

- ``best.toml``: the configuration of the best trial, ready for ``annie train best.toml``;
- ``trials.csv``: every trial's number, state, value, duration, epochs, parameters and note;
- figures through ``optuna.visualization.matplotlib``: ``history.png`` (the optimisation
  history), ``importances.png`` (parameter importances, fANOVA), ``contour.png`` (the metric
  over the two most important numeric parameters) and ``intermediate.png`` (each trial's
  metric per epoch: where the pruner stopped trials);

and the summary printed at the end.
"""
from __future__ import annotations

import csv
import io
import json
import os

from ..errors import ConfigError
from . import bridge, space, studies
from .spec import TuneSpec
from .trials import NOTE, quiet_experimental


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def trials_csv(study, tune: TuneSpec) -> str:
    """Every trial as one CSV row: number, state, value, duration, epochs, worker, the
    parameters (configuration values) and the note."""
    keys = [parameter.key for parameter in tune.parameters]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "state", tune.metric, "duration_s", "epochs", "worker", *keys,
                     "note"])
    found = study.get_trials(deepcopy=False)
    retried = {trial.system_attrs["failed_trial"]: trial.number for trial in found
               if "failed_trial" in trial.system_attrs}
    for trial in found:
        values = space.decode(tune.parameters, trial.params)
        seconds = "" if trial.duration is None else f"{trial.duration.total_seconds():.3f}"
        writer.writerow([trial.number, trial.state.name, _cell(trial.value), seconds,
                         _cell(trial.user_attrs.get("epochs")),
                         _cell(trial.user_attrs.get("worker")),
                         *[_cell(values.get(key)) for key in keys],
                         _note(trial, retried)])
    return buffer.getvalue()


def _note(trial, retried: dict) -> str:
    """Why a trial stopped early or failed; for a trial whose worker stopped, the trial that
    tried its parameters again."""
    note = trial.user_attrs.get(NOTE, "")
    if trial.number in retried:
        note = f"{note or 'its worker stopped (no heartbeat)'}; retried as trial " \
               f"{retried[trial.number]}"
    return note


def _not_run(trial) -> bool:
    """A trial handed back unrun because the study had reached its total."""
    return trial.state.name == "FAIL" and trial.user_attrs.get(NOTE, "").startswith("not run")


def best_trial(study):
    """The best complete trial, or None when no trial has completed."""
    complete = [trial for trial in study.get_trials(deepcopy=False)
                if trial.state.name == "COMPLETE"]
    return study.best_trial if complete else None


def best_config(study, config: dict, tune: TuneSpec) -> tuple[dict, object] | None:
    """(the best trial's configuration, the trial), or None when no trial has completed."""
    trial = best_trial(study)
    if trial is None:
        return None
    values = space.decode(tune.parameters, trial.params)
    return bridge.apply(config, values, f"best trial {trial.number}"), trial


def best_toml(study, config: dict, tune: TuneSpec) -> str | None:
    """``best.toml``'s text: a comment naming the study and trial, then the configuration."""
    found = best_config(study, config, tune)
    if found is None:
        return None
    best, trial = found
    header = (f"# The best of {studies.finished(study)} finished trials of the study "
              f"{study.study_name!r}: trial {trial.number}, {tune.metric} = {trial.value:.6g}.\n"
              f"#   annie train best.toml\n")
    return header + bridge.to_toml(best)


def _numeric_keys(study, tune: TuneSpec) -> list[str]:
    """The numeric parameters, most important first when importances can be computed."""
    keys = [parameter.key for parameter in tune.parameters
            if isinstance(parameter, (space.FloatRange, space.IntRange))]
    try:
        import optuna
        with quiet_experimental():
            importances = optuna.importance.get_param_importances(study, params=keys)
        keys.sort(key=lambda key: -importances.get(key, 0.0))
    except (ValueError, RuntimeError, ImportError):
        pass  # too few trials, or scikit-learn missing: keep the [tune] table's order
    return keys


def write_figures(study, tune: TuneSpec, folder: str) -> tuple[list[str], list[str]]:
    """Draw the figures into ``folder``: (paths written, notes on figures not drawn)."""
    from ..diagnostics.plots import import_pyplot, save_figure
    try:
        pyplot = import_pyplot("annie tune's figures")
        from optuna.visualization import matplotlib as plots
    except (ConfigError, ImportError) as error:
        return [], [f"no figures: {error}"]
    numeric = _numeric_keys(study, tune)
    drawings = {
        "history.png": lambda: plots.plot_optimization_history(study, target_name=tune.metric),
        "importances.png": lambda: plots.plot_param_importances(study, target_name=tune.metric),
        "intermediate.png": lambda: plots.plot_intermediate_values(study),
    }
    if len(numeric) >= 2:
        drawings["contour.png"] = lambda: plots.plot_contour(study, params=numeric[:2],
                                                             target_name=tune.metric)
    written, notes = [], []
    for name, draw in drawings.items():
        try:
            with quiet_experimental():
                axes = draw()
        except (ValueError, RuntimeError, ImportError) as error:
            notes.append(f"{name} not drawn: {error}")
            continue
        figure = getattr(axes, "figure", None) or axes.flat[0].figure
        figure.set_size_inches(8, 6)
        figure.tight_layout()
        path = os.path.join(folder, name)
        save_figure(figure, path)
        pyplot.close(figure)
        written.append(path)
    if len(numeric) < 2:
        notes.append("contour.png not drawn: it needs two numeric parameters (ranges)")
    return written, notes


def write(study, config: dict, tune: TuneSpec, folder: str,
          figures: bool = True) -> tuple[list[str], list[str]]:
    """Write best.toml, trials.csv and (``figures``) the figures into ``folder``: (paths,
    notes)."""
    from ..io import atomic_write_text
    os.makedirs(folder, exist_ok=True)
    written, notes = [], []
    text = best_toml(study, config, tune)
    if text is not None:
        atomic_write_text(os.path.join(folder, "best.toml"), text)
        written.append(os.path.join(folder, "best.toml"))
    else:
        notes.append("best.toml not written: no trial has completed yet")
    atomic_write_text(os.path.join(folder, "trials.csv"), trials_csv(study, tune))
    written.append(os.path.join(folder, "trials.csv"))
    if figures:
        drawn, figure_notes = write_figures(study, tune, folder)
        written, notes = written + drawn, notes + figure_notes
    return written, notes


def summary(study, tune: TuneSpec, url: str | None, n_trials: int) -> list[str]:
    """The lines printed at the end: counts, the best trial and its parameters."""
    found = studies.counts(study)
    finished = studies.finished(study)
    failed = found.get("FAIL", 0) - sum(map(_not_run, study.get_trials(deepcopy=False)))
    lines = [f"study {study.study_name!r} ({studies.masked(url)}): {finished} of {n_trials} "
             f"trials finished ({found.get('COMPLETE', 0)} complete, "
             f"{found.get('PRUNED', 0)} pruned), {failed} failed, "
             f"{found.get('RUNNING', 0)} running"]
    if found.get("RUNNING"):
        lines.append("  running trials belong to other workers, or to a killed one: those "
                     "are marked failed after two heartbeats and retried by the next run")
    trial = best_trial(study)
    if trial is None:
        lines.append("no trial has completed yet")
        return lines
    lines.append(f"best: trial {trial.number}, {tune.metric} = {trial.value:.6g} "
                 f"({tune.direction})")
    for key, value in space.decode(tune.parameters, trial.params).items():
        lines.append(f"  {key} = {_cell(value)}")
    return lines
