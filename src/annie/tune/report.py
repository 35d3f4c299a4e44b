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

import contextlib
import csv
import io
import os
import warnings

from ..errors import ConfigError
from . import bridge, grid, space, studies
from .spec import TuneSpec
from .trials import NOTE, quiet_experimental




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
        writer.writerow([trial.number, trial.state.name, space.text(trial.value), seconds,
                         space.text(trial.user_attrs.get("epochs")),
                         space.text(trial.user_attrs.get("worker")),
                         *[space.text(values.get(key)) for key in keys],
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


FIGURES = ("history.png", "importances.png", "intermediate.png", "contour.png")


def _importance_evaluator():
    """fANOVA (a random forest over the trials; scikit-learn), seeded: the same study always
    gives the same importances."""
    import optuna
    return optuna.importance.FanovaImportanceEvaluator(seed=0)


def _numeric_keys(study, tune: TuneSpec) -> list[str]:
    """The numeric parameters, most important first when importances can be computed."""
    keys = [parameter.key for parameter in tune.parameters
            if isinstance(parameter, (space.FloatRange, space.IntRange))]
    try:
        import optuna
        with quiet_experimental():
            importances = optuna.importance.get_param_importances(
                study, evaluator=_importance_evaluator(), params=keys)
        keys.sort(key=lambda key: -importances.get(key, 0.0))
    except (ValueError, RuntimeError, ImportError):
        pass  # too few trials, or scikit-learn missing: keep the [tune] table's order
    return keys


def _drawings(study, tune: TuneSpec, plots) -> tuple[dict, list[str]]:
    """{file name: a function drawing it} for the figures this study can show, and a note for
    each figure it cannot (yet)."""
    found = study.get_trials(deepcopy=False)
    complete = sum(trial.state.name == "COMPLETE" for trial in found)
    numeric = _numeric_keys(study, tune) if complete >= 2 else []
    drawings, notes = {}, []
    if complete:
        drawings["history.png"] = lambda: plots.plot_optimization_history(
            study, target_name=tune.metric)
    else:
        notes.append("history.png not drawn: no trial has completed yet")
    if complete >= 2:
        drawings["importances.png"] = lambda: plots.plot_param_importances(
            study, evaluator=_importance_evaluator(), target_name=tune.metric)
    else:
        notes.append("importances.png not drawn: it needs two complete trials")
    if any(trial.intermediate_values for trial in found):
        drawings["intermediate.png"] = lambda: plots.plot_intermediate_values(study)
    else:
        notes.append("intermediate.png not drawn: no trial has finished an epoch yet")
    if len(numeric) >= 2:
        drawings["contour.png"] = lambda: plots.plot_contour(study, params=numeric[:2],
                                                             target_name=tune.metric)
    elif complete >= 2 or len(tune.parameters) < 2:
        notes.append("contour.png not drawn: it needs two numeric parameters (ranges)")
    else:
        notes.append("contour.png not drawn: it needs two complete trials")
    return drawings, notes


@contextlib.contextmanager
def _quiet_plotting():
    """Optuna's and matplotlib's warnings stay off the terminal while figures are drawn (what
    a figure cannot show is said in a note)."""
    import optuna
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings(), quiet_experimental():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def write_figures(study, tune: TuneSpec, folder: str) -> tuple[list[str], list[str]]:
    """Draw the figures into ``folder``: (paths written, notes on figures not drawn)."""
    from ..diagnostics.plots import import_pyplot, save_figure
    try:
        pyplot = import_pyplot("annie tune's figures")
        from optuna.visualization import matplotlib as plots
    except (ConfigError, ImportError) as error:
        return [], [f"no figures: {error}"]
    written = []
    with _quiet_plotting():
        drawings, notes = _drawings(study, tune, plots)
        for name, draw in drawings.items():
            try:
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
    return written, notes


def _remove_older_figures(folder: str, drawn: list[str]) -> list[str]:
    """Remove the figures of an earlier run (or another study) that this run did not draw, so
    that no figure in ``folder`` disagrees with its best.toml and trials.csv; notes."""
    removed = []
    for name in FIGURES:
        path = os.path.join(folder, name)
        if path not in drawn and os.path.isfile(path):
            os.remove(path)
            removed.append(name)
    return [f"removed {', '.join(removed)} of an earlier run (not drawn this time)"] \
        if removed else []


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
    drawn, figure_notes = write_figures(study, tune, folder) if figures else ([], [])
    return written + drawn, notes + figure_notes + _remove_older_figures(folder, drawn)


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
    if grid.is_grid(tune) and finished < n_trials and not found.get("WAITING") and \
            not found.get("RUNNING"):
        lines.append(f"  every point of the grid ({len(grid.points(tune))}) has been tried")
    trial = best_trial(study)
    if trial is None:
        lines.append("no trial has completed yet")
        return lines
    lines.append(f"best: trial {trial.number}, {tune.metric} = {trial.value:.6g} "
                 f"({tune.direction})")
    for key, value in space.decode(tune.parameters, trial.params).items():
        lines.append(f"  {key} = {space.text(value)}")
    return lines
