"""tune.html: one self-contained page about a study: the best trials, the objective trial by trial, which
settings mattered (Optuna's parameter importances), and one row per trial linking to its run report."""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..atomic import atomic_write_bytes
from ..report import CSS, _img, _table, environment
from ..version import __version__
from .extra import optuna

BEST_SHOWN = 5


def write_tune_report(study: Any, out: Path, *, figures: bool = True) -> Path:
    """Write OUT/tune.html for `study` and return its path (figures need matplotlib)."""
    opt = optuna()
    state = opt.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == state.COMPLETE]
    maximize = study.direction.name == "MAXIMIZE"
    objective = json.loads(study.user_attrs.get("space", "{}")).get("objective", "objective")
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in state}
    best = sorted(done, key=lambda t: t.value, reverse=maximize)[:BEST_SHOWN]
    name = html.escape(study.study_name)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>numpynn tune: {name}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>numpynn tune: study <code>{name}</code></h1>",
             f"<p>{len(trials)} trials: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) +
             f". Objective: {html.escape(objective)} ({'higher' if maximize else 'lower'} is better).</p>"]
    if best:
        parts += [f"<p class='big'>best {html.escape(objective)} {best[0].value:.4g} (trial {best[0].number})</p>",
                  "<h2>Best trials</h2>", _trial_table(best, out, objective)]
    if figures and trials:
        with tempfile.TemporaryDirectory() as tmp:
            picture = Path(tmp) / "objective.png"
            plot_objective(trials, maximize, objective, picture)
            parts += ["<h2>The objective, trial by trial</h2>", _img(picture)]
    parts += ["<h2>Which settings mattered</h2>", _importances(study, len(done))]
    parts += ["<h2>Every trial</h2>", _trial_table(trials, out, objective)]
    parts += ["<h2>The search</h2>", f"<pre>{html.escape(_pretty_space(study))}</pre>",
              "<h3>Base configuration</h3>", f"<pre>{html.escape(study.user_attrs.get('base_config', ''))}</pre>",
              "<h2>Environment</h2>", _table(["item", "value"], [[k, v] for k, v in environment().items()]),
              f"<p>numpynn {html.escape(__version__)}; each trial's folder (trials/NNNN) is an ordinary run folder: "
              "<code>numpynn evaluate</code>, <code>export</code> and <code>compare</code> take it.</p></body></html>"]
    path = out / "tune.html"
    atomic_write_bytes(path, "\n".join(parts).encode())
    return path


def _trial_table(trials: list[Any], out: Path, objective: str) -> str:
    """One row per trial; the run report linked by its path relative to the page, where this machine has it."""
    names = sorted({k for t in trials for k in t.params})
    head = ["trial", "state", objective, "epochs", "seconds", *names, "run"]
    rows = []
    for t in trials:
        run_dir = str(t.user_attrs.get("run_dir", ""))
        report = out / run_dir / "report.html" if run_dir else None
        if report is not None and report.is_file() and ".." not in Path(run_dir).parts:
            link = f"<a href='{html.escape(quote(run_dir + '/report.html'), quote=True)}'>{html.escape(run_dir)}</a>"
        else:
            link = html.escape(run_dir or "")
        error = str(t.user_attrs.get("error", ""))
        value = "" if t.value is None else f"{t.value:.4g}"
        if t.state.name == "PRUNED" and "pruned_at" in t.user_attrs:
            value = f"pruned after epoch {t.user_attrs['pruned_at']}"
        cells = [str(t.number), t.state.name.lower() + (f": {error[:120]}" if error else ""), value,
                 str(t.user_attrs.get("epochs", "")), str(t.user_attrs.get("seconds", "")),
                 *(_param_text(t.params.get(n)) for n in names)]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{link}</td></tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def _param_text(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _importances(study: Any, n_done: int) -> str:
    """Optuna's parameter importances (fANOVA with scikit-learn, else PED-ANOVA), or why there are none."""
    if n_done < 2:
        return "<p>Importances need at least two completed trials.</p>"
    opt = optuna()
    try:
        import sklearn  # noqa: F401

        evaluator, how = opt.importance.FanovaImportanceEvaluator(seed=0), "fANOVA"
    except ImportError:
        evaluator, how = opt.importance.PedAnovaImportanceEvaluator(), "PED-ANOVA"
    try:
        scores = opt.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError) as exc:  # e.g. every completed trial has the same parameters
        return f"<p>No importances: {html.escape(str(exc)[:200])}</p>"
    rows = [[k, f"{v:.3f}"] for k, v in scores.items()]
    return (f"<p>The share of the objective's variance each setting explains ({how}, over the completed "
            "trials).</p>" + _table(["setting", "importance"], rows))


def _pretty_space(study: Any) -> str:
    try:
        return json.dumps(json.loads(study.user_attrs.get("space", "{}")), indent=1)
    except ValueError:
        return ""


def plot_objective(trials: list[Any], maximize: bool, objective: str, path: Path) -> None:
    """Each completed trial's objective (dots), the best so far (line), pruned trials' last report (crosses)."""
    from ..plots import _finish, _integer_epochs, _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    done = [(t.number, t.value) for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    pruned = [(t.number, t.intermediate_values[max(t.intermediate_values)]) for t in trials
              if t.state.name == "PRUNED" and t.intermediate_values]
    if done:
        xs, ys = zip(*done, strict=True)
        ax.plot(xs, ys, "o", ms=4, label="completed")
        best, running = [], None
        for y in ys:
            running = y if running is None else (max(running, y) if maximize else min(running, y))
            best.append(running)
        ax.step(xs, best, where="post", lw=1.5, label="best so far")
    if pruned:
        xs, ys = zip(*pruned, strict=True)
        ax.plot(xs, ys, "x", ms=5, color="#a33", label="pruned (last epoch reported)")
    ax.set(xlabel="trial", ylabel=objective)
    _integer_epochs((ax,))  # trial numbers are whole, as epochs are
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    _finish(fig, plt, path)
