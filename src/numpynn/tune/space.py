"""The search space of `numpynn tune`: a TOML file naming config settings and the values each may take.

    [space]
    lr = { low = 1e-4, high = 1e-2, log = true }      # a float setting: a range (log: uniform in log space)
    epochs = { low = 2, high = 8 }                    # an int setting: whole numbers (step = 2 for every other)
    hidden = { choices = [[256], [512, 256]] }        # any setting: a list of values
    [pruner]
    kind = "median"          # median (default), hyperband or none
    [search]
    objective = "val_loss"   # the validation figure each epoch reports; val_accuracy, val_mae, ... also
    sampler = "tpe"          # tpe (default) or random
    seed = 0

Every value the space can give is checked as the config checks it, against the base config, before any trial.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..checks import is_finite_real, is_int
from ..config import FLOAT, INT, ConfigError, TrainConfig, read_toml

SECTIONS = ("space", "pruner", "search")
PRUNERS = ("median", "hyperband", "none")
SAMPLERS = ("tpe", "random")
# each pruner's settings and their defaults
PRUNER_SETTINGS: dict[str, dict[str, int]] = {
    "median": {"startup_trials": 5, "warmup_epochs": 1},  # trials finished before pruning; epochs it waits
    "hyperband": {"min_epochs": 1, "reduction_factor": 3},
    "none": {},
}
_SETTINGS = {f.name: f for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Param:
    """One searched setting: a range (`low`..`high`, `log`, `step`) or `choices`."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def is_int(self) -> bool:
        return self.choices is None and _SETTINGS[self.name].metadata["kind"] is INT

    def encoded_choices(self) -> list[Any]:
        """The choices as Optuna stores them: scalars as they are, lists as their JSON text."""
        return [json.dumps(c) if isinstance(c, list) else c for c in self.choices or ()]

    def decode(self, value: Any) -> Any:
        """A value Optuna suggested, as the setting takes it."""
        if self.choices is not None and isinstance(value, str) and any(isinstance(c, list) for c in self.choices):
            for c in self.choices:
                if json.dumps(c) == value:
                    return list(c)
        return value


@dataclass(frozen=True)
class Space:
    """A parsed search space: the searched settings, the pruner, the objective and the sampler."""

    params: tuple[Param, ...]
    pruner: str = "median"
    pruner_settings: dict[str, int] = field(default_factory=dict)
    objective: str = "val_loss"
    sampler: str = "tpe"
    seed: int = 0

    @property
    def direction(self) -> str:
        """Losses and errors go down; accuracy-like figures (accuracy, R², F1) go up."""
        return "maximize" if any(w in self.objective for w in ("acc", "r2", "f1")) else "minimize"

    def canonical(self) -> str:
        """A stable text of the space: a resumed study must search the same one."""
        return json.dumps({"params": [asdict(p) for p in self.params], "pruner": self.pruner,
                           "pruner_settings": self.pruner_settings, "objective": self.objective,
                           "sampler": self.sampler, "seed": self.seed}, sort_keys=True)


def load_space(path: str | os.PathLike, base: TrainConfig | None = None) -> Space:
    """Read and check a space file; every value it can give is checked against `base` (default config)."""
    return parse_space(read_toml(path, "space"), base, where=str(path))


def parse_space(raw: dict[str, Any], base: TrainConfig | None = None, *, where: str = "space") -> Space:
    """A space from its TOML tables (as `tomllib` reads them); ConfigError saying which entry is wrong and why."""
    base = base or TrainConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected TOML tables [space], [pruner], [search], got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {unknown}; expected {list(SECTIONS)}")
    for section in SECTIONS:
        if section in raw and not isinstance(raw[section], dict):
            raise ConfigError(f"{where}: [{section}] must be a table, got {raw[section]!r:.60}")
    entries = raw.get("space", {})
    if not entries:
        raise ConfigError(f"{where}: the space is empty; give [space] at least one setting, e.g. "
                          "lr = { low = 1e-4, high = 1e-2, log = true }")
    params = tuple(_param(name, spec, base, where) for name, spec in entries.items())
    pruner, settings = _pruner(raw.get("pruner", {}), where)
    objective, sampler, seed = _search(raw.get("search", {}), where)
    return Space(params, pruner, settings, objective, sampler, seed)


def _param(name: str, spec: Any, base: TrainConfig, where: str) -> Param:
    at = f"{where}: [space] {name}"
    if name not in _SETTINGS:
        raise ConfigError(f"{where}: [space] names unknown setting {name!r}; known: {sorted(_SETTINGS)}")
    if not isinstance(spec, dict):
        raise ConfigError(f"{at} must be a table {{ low = .., high = .. }} or {{ choices = [..] }}, got {spec!r:.60}")
    kind = _SETTINGS[name].metadata["kind"]
    if "choices" in spec:
        extra = sorted(set(spec) - {"choices"})
        if extra:
            raise ConfigError(f"{at}: choices takes no {extra}")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{at}: choices must be a non-empty list, got {choices!r:.60}")
        texts = [json.dumps(c, sort_keys=True) for c in choices]
        if len(set(texts)) < len(texts):
            raise ConfigError(f"{at}: choices lists a value twice: {choices!r:.80}")
        for c in choices:
            if isinstance(c, dict) or (isinstance(c, list) and any(isinstance(x, (list, dict)) for x in c)):
                raise ConfigError(f"{at}: a choice is a value or a list of values, got {c!r:.60}")
            _check_value(name, c, base, at)
        return Param(name, choices=tuple(choices))
    if kind not in (INT, FLOAT):
        raise ConfigError(f"{at}: {name} is not a number ({kind.expected}); give it choices = [..]")
    extra = sorted(set(spec) - {"low", "high", "log", "step"})
    if extra or "low" not in spec or "high" not in spec:
        raise ConfigError(f"{at} takes low, high and optionally log and step (or choices), got {sorted(spec)}")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    number = is_int if kind is INT else is_finite_real
    for key, v in (("low", low), ("high", high)) + ((("step", step),) if step is not None else ()):
        if not number(v) or isinstance(v, bool):
            raise ConfigError(f"{at}: {key} must be {'an integer' if kind is INT else 'a finite number'} "
                              f"(the setting is {kind.expected}), got {v!r:.40}")
    if low > high:
        raise ConfigError(f"{at}: low {low!r} is above high {high!r}")
    if not isinstance(log, bool):
        raise ConfigError(f"{at}: log must be true or false, got {log!r:.40}")
    if log and low <= 0:
        raise ConfigError(f"{at}: a log range needs low > 0, got {low!r}")
    if step is not None and (step <= 0 or log):
        raise ConfigError(f"{at}: step must be > 0 and cannot go with log, got step {step!r}")
    if kind is FLOAT:
        low, high, step = float(low), float(high), None if step is None else float(step)
    for v in (low, high):
        _check_value(name, v, base, at)
    return Param(name, low, high, log, step)


def _check_value(name: str, value: Any, base: TrainConfig, at: str) -> None:
    """The value as the config checks it, in the base config (so a rule between settings is checked too)."""
    try:
        trial_config(base, {name: value})
    except ConfigError as exc:
        raise ConfigError(f"{at}: {exc}") from None


def trial_config(base: TrainConfig, values: dict[str, Any]) -> TrainConfig:
    """The base config with a trial's values over it, checked."""
    merged = {f.name: getattr(base, f.name) for f in fields(base)}
    merged.update(values)
    return TrainConfig(**merged)


def _pruner(table: dict[str, Any], where: str) -> tuple[str, dict[str, int]]:
    kind = table.get("kind", "median")
    if kind not in PRUNERS:
        raise ConfigError(f"{where}: [pruner] kind must be one of {list(PRUNERS)}, got {kind!r:.40}")
    known = PRUNER_SETTINGS[kind]
    extra = sorted(set(table) - {"kind"} - set(known))
    if extra:
        raise ConfigError(f"{where}: [pruner] {kind} takes {sorted(known) or 'no settings'}, got {extra}")
    settings = dict(known)
    for key in known:
        if key in table:
            v = table[key]
            least = 2 if key == "reduction_factor" else 1 if key == "min_epochs" else 0
            if not is_int(v) or v < least:
                raise ConfigError(f"{where}: [pruner] {key} must be an integer >= {least}, got {v!r:.40}")
            settings[key] = int(v)
    return kind, settings


def _search(table: dict[str, Any], where: str) -> tuple[str, str, int]:
    extra = sorted(set(table) - {"objective", "sampler", "seed"})
    if extra:
        raise ConfigError(f"{where}: [search] takes objective, sampler and seed, got {extra}")
    objective, sampler, seed = table.get("objective", "val_loss"), table.get("sampler", "tpe"), table.get("seed", 0)
    if not isinstance(objective, str) or not objective.startswith("val_") or not objective[4:].isidentifier():
        raise ConfigError(f"{where}: [search] objective must be a validation figure such as val_loss or "
                          f"val_accuracy, got {objective!r:.40}")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{where}: [search] sampler must be one of {list(SAMPLERS)}, got {sampler!r:.40}")
    if not is_int(seed) or not 0 <= seed < 2**31:
        raise ConfigError(f"{where}: [search] seed must be an integer in [0, 2**31), got {seed!r:.40}")
    return objective, sampler, int(seed)
