"""TrainConfig: every choice of a training run, from command-line flags or a TOML file, saved with the run.

`numpynn train --config runs/X/config.toml` repeats run X exactly: the file holds every field, defaults included.
Each setting is declared once, as a `setting(...)` field; the TOML sections, the checks, the CLI flags and their
help are all read from the fields' metadata.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .checks import is_int
from .errors import NumpynnError
from .initializers import BIAS_INITIALIZERS


class ConfigError(NumpynnError, ValueError):
    """A configuration value or file is not usable."""



def read_toml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """A TOML file's tables; ConfigError naming the file (`what` it is: config, space) when it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

@dataclass(frozen=True)
class Rule:
    """A condition on one setting's value; `text` completes "<name> must be ...", e.g. "> 0"."""

    ok: Callable[[Any], bool]
    text: str

    def check(self, name: str, value: Any) -> None:
        if not self.ok(value):
            raise ConfigError(f"{name} must be {self.text}, got {value!r}")


def greater_than(low: float) -> Rule:
    return Rule(lambda v: v > low, f"> {low}")


def at_least(low: float, note: str = "") -> Rule:
    return Rule(lambda v: v >= low, f">= {low}" + (f" ({note})" if note else ""))


def fraction(note: str = "") -> Rule:
    """A value in [0, 1): a rate, a share or a decay factor."""
    return Rule(lambda v: 0 <= v < 1, "in [0, 1)" + (f" ({note})" if note else ""))


def between(low: float, high: float, note: str = "") -> Rule:
    return Rule(lambda v: low <= v <= high, f"in [{low}, {high}]" + (f" ({note})" if note else ""))


def one_of(choices: tuple[str, ...]) -> Rule:
    return Rule(lambda v: v in choices, f"one of {choices}")


@dataclass(frozen=True)
class Kind:
    """The type of a setting: which values it accepts (file or keyword) and how a CLI flag's text becomes one."""

    expected: str  # completes "<name> must be ...", e.g. "float"
    accepts: Callable[[Any], bool]
    from_text: Callable[[str], Any]
    coerce: Callable[[Any], Any] = lambda v: v
    rules: tuple[Rule, ...] = ()  # checked for every setting of this kind, before the setting's own rules
    names_type: bool = False  # scalar kinds also say which type came, e.g. "(str)"

    def check(self, name: str, value: Any) -> None:
        if not self.accepts(value):
            got = f"{value!r} ({type(value).__name__})" if self.names_type else repr(value)
            raise ConfigError(f"{name} must be {self.expected}, got {got}")
        for rule in self.rules:
            rule.check(name, value)



def _sizes_from_text(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {text!r}") from None


def _numbers_from_text(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ConfigError(f"expected comma-separated numbers, got {text!r}") from None


BOOL = Kind("bool", lambda v: isinstance(v, bool), lambda t: t, names_type=True)  # a CLI switch, never parsed
INT = Kind("int", is_int, int, names_type=True)  # True is an int to Python, not to a config
# a file may write 1 for 1.0; the run then holds (and saves) the float
FLOAT = Kind("float", lambda v: isinstance(v, float), float, coerce=lambda v: float(v) if is_int(v) else v,
             rules=(Rule(math.isfinite, "finite"),), names_type=True)
STR = Kind("str", lambda v: isinstance(v, str), lambda t: t, names_type=True)
SIZES = Kind("a list of positive integers", lambda v: isinstance(v, list) and all(is_int(x) and x > 0 for x in v),
             _sizes_from_text)
# a file may write 1 for 1.0, as for FLOAT
NUMBERS = Kind("a list of finite numbers",
               lambda v: isinstance(v, list) and all(isinstance(x, float) and math.isfinite(x) for x in v),
               _numbers_from_text, coerce=lambda v: [float(x) if is_int(x) else x for x in v] if isinstance(v, list)
               else v)
NAMES = Kind("a name or a list of names",
             lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
             lambda t: t.split(",") if "," in t else t)

COLUMNS = Kind("a list of column names", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
               lambda t: [x.strip() for x in t.split(",") if x.strip()])

_KIND_OF_DEFAULT: dict[type, Kind] = {bool: BOOL, int: INT, float: FLOAT, str: STR, list: SIZES}


def setting(default: Any, section: str, help: str, *, kind: Kind | None = None, rule: Rule | None = None,
            choices: tuple[str, ...] | None = None) -> Any:
    """A TrainConfig field with everything the TOML file, the checks and the CLI need to know about it.

    Its metadata: "section" and "help" (the TOML section, the flag's help), "kind" (read from the default unless
    given), "rules" (`rule` and `choices` as Rules, checked after the kind) and "choices" (or None).
    """
    rules = tuple(r for r in (rule, one_of(choices) if choices else None) if r is not None)
    metadata = {"section": section, "help": help, "kind": kind or _KIND_OF_DEFAULT[type(default)],
                "rules": rules, "choices": choices}
    if isinstance(default, list):  # each config gets its own list
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    # the defaults are numpynn's recipe for the bundled MNIST sample (97.7-97.9 % test accuracy in 11-17 s on 2 cores)
    # model
    hidden: list[int] = setting([512, 256], "model", "hidden layer sizes, e.g. 256,128 (empty for none)")
    # one name for every hidden layer, or one per layer
    activation: str | list[str] = setting("relu", "model", "hidden activation(s), e.g. relu", kind=NAMES)
    init: str = setting("auto", "model",
                        "weight initializer (auto, he_normal, glorot_uniform, lecun_normal, small_normal, ...)")
    bias_init: str = setting("zeros", "model", "bias initializer: zeros, or small_normal (N(0, 0.01^2))",
                             choices=BIAS_INITIALIZERS)
    dropout: float = setting(0.1, "model", "dropout rate after each hidden layer", rule=fraction())
    input_dropout: float = setting(0.0, "model", "dropout rate on the inputs", rule=fraction())
    batchnorm: bool = setting(False, "model", "batch normalisation after each hidden layer")
    # "auto" keeps logits and fuses the activation into the loss; "softmax" or "sigmoid" add it as a layer
    output: str = setting("auto", "model", "output layer: auto (logits), softmax or sigmoid",
                          choices=("auto", "softmax", "sigmoid"))
    # training
    loss: str = setting("auto", "training", "auto, cross_entropy, binary_cross_entropy, or for a regression mse, "
                        "mae, huber, quantile")
    huber_delta: float = setting(1.0, "training", "huber loss: residuals beyond this size count linearly (in the "
                                 "target's units; log1p units with log_target)", rule=greater_than(0))
    quantiles: list[float] = setting([0.5], "training", "quantile loss: the quantiles to predict, e.g. 0.1,0.5,0.9 "
                                     "(one output per quantile and target)", kind=NUMBERS,
                                     rule=Rule(lambda v: 0 < len(v) <= 99 and all(0 < q < 1 for q in v)
                                               and len(set(v)) == len(v),
                                               "1 to 99 different numbers strictly between 0 and 1"))
    log_target: bool = setting(False, "training", "regression: train on log1p(y) of targets y >= 0 (prices, "
                               "delays), predict expm1 of the output")
    optimizer: str = setting("adam", "training", "sgd, adam, adamw, rmsprop, adagrad")
    lr: float = setting(2e-3, "training", "learning rate", rule=greater_than(0))
    momentum: float = setting(0.0, "training", "SGD momentum", rule=fraction())
    nesterov: bool = setting(False, "training", "Nesterov momentum")
    weight_decay: float = setting(0.0, "training", "weight decay", rule=at_least(0))
    clip_norm: float = setting(0.0, "training", "clip gradients to this global norm")  # 0 = no clipping
    schedule: str = setting("cosine", "training", "none, cosine, step, exponential, one_cycle, plateau",
                            choices=("none", "cosine", "step", "exponential", "one_cycle", "plateau"))
    warmup_epochs: float = setting(0.0, "training", "cosine warm-up length")
    step_epochs: int = setting(10, "training", "epochs between step decays")
    gamma: float = setting(0.5, "training", "decay factor")
    epochs: int = setting(30, "training", "epochs to train", rule=at_least(1))
    batch_size: int = setting(128, "training", "minibatch size (0 = full batch)",
                              rule=at_least(0, "0 = full batch"))
    label_smoothing: float = setting(0.0, "training", "cross-entropy label smoothing")
    early_stopping: int = setting(0, "training", "stop after this many epochs without improvement (0 = off)",
                                  rule=at_least(0))
    average_decay: float = setting(0.0, "training", "end with a moving average of the weights, e.g. 0.999 (0 = off)",
                                   rule=fraction("0 = off"))
    average_start_epoch: int = setting(1, "training", "epoch from which the weights are averaged", rule=at_least(1))
    seed: int = setting(0, "training", "random seed", rule=at_least(0))
    doctor: bool = setting(True, "training", "watch each layer and explain what goes wrong (doctor.jsonl)")
    dtype: str = setting("float32", "training", "float32 or float64", choices=("float32", "float64"))
    precision: str = setting("float32", "training", "matrix products while training: float32, or bf16 (bfloat16 "
                             "with float32 sums, on CPUs with AMX/AVX512-BF16 and numpynn[bf16])",
                             choices=("float32", "bf16"))
    # data
    dataset: str = setting("mnist-sample", "data", "a dataset name (see `numpynn datasets list`) or a path")
    validation_split: float = setting(0.1, "data", "fraction of training data held out", rule=fraction())
    normalize: str = setting("auto", "data", "auto (images: scale; tables: robust), scale (images: /255; tables: "
                             "each column by its largest |value|), standardize, robust (tables: median and "
                             "quartiles, smoothly clipped) or none",
                             choices=("auto", "scale", "standardize", "robust", "none"))
    # applies to image datasets only
    augment: bool = setting(True, "data", "random shifts/rotations of training images")
    shift: float = setting(2.0, "data", "max shift in pixels", rule=between(0, 1000))
    rotate: float = setting(10.0, "data", "max rotation in degrees", rule=between(0, 180))
    elastic: float = setting(0.0, "data", "elastic distortion strength (0 = off)", rule=between(0, 1000))
    elastic_sigma: float = setting(3.0, "data", "smoothness of the elastic distortion in pixels",
                                   rule=between(0.5, 100))
    scale: float = setting(0.0, "data", "max relative change of height and width, each drawn on its own "
                           "(0.15: 85-115 %)", rule=between(0, 0.9))
    noise: float = setting(0.0, "data", "Gaussian noise std", rule=between(0, 1000))
    flip: float = setting(0.0, "data", "chance of a left-right mirror (for clothing, not digits)",
                          rule=between(0, 1))
    # tables (CSV, .npz with X and y); "" = the column named label/class/target/y, else the only text one, else the last
    label_column: str = setting("", "data", "the label column of a CSV: a header name or a 0-based index "
                                "(default: the one named label/class/target/y, else the only text column, else the "
                                "last)")
    categorical: list[str] = setting([], "data", "table columns read as categories (e.g. integer codes), "
                                     "comma-separated", kind=COLUMNS)
    numeric: list[str] = setting([], "data", "table columns read as numbers, comma-separated", kind=COLUMNS)
    drop: list[str] = setting([], "data", "table columns left out, comma-separated", kind=COLUMNS)
    task: str = setting("auto", "data", "classification, regression or auto (mse loss, fractional targets or "
                        "more than 50 distinct values: regression; else classes)",
                        choices=("auto", "classification", "regression"))
    stream: str = setting("auto", "data", "a Parquet file or folder: read it row group by row group every epoch "
                          "(on), whole (off), or auto: stream when it would take more than a quarter of the memory "
                          "available", choices=("auto", "on", "off"))

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check types and ranges; the error names the field, what it must be and what it got."""
        # every type first, so that a rule never compares a value of the wrong type
        for f in fields(self):
            kind: Kind = f.metadata["kind"]
            value = kind.coerce(getattr(self, f.name))
            setattr(self, f.name, value)
            kind.check(f.name, value)
        for f in fields(self):
            for rule in f.metadata["rules"]:
                rule.check(f.name, getattr(self, f.name))
        if isinstance(self.activation, list) and len(self.activation) != len(self.hidden):
            raise ConfigError(f"activation lists one name per hidden layer: {len(self.hidden)} hidden layers, "
                              f"got {len(self.activation)} names")

    def activations(self) -> list[str]:
        return list(self.activation) if isinstance(self.activation, list) else [self.activation] * len(self.hidden)

    # --- TOML ------------------------------------------------------------------------------
    def to_toml(self) -> str:
        lines = ["# numpynn training configuration: `numpynn train --config this-file` repeats the run", ""]
        for section, names in SECTIONS.items():
            lines.append(f"[{section}]")
            lines += [f"{n} = {_toml_value(getattr(self, n))}" for n in names]
            lines.append("")
        return "\n".join(lines)

    @classmethod
    def from_toml(cls, path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
        raw = read_toml(path, "config")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in SECTIONS and isinstance(value, dict):
                unknown = set(value) - set(SECTIONS[key])
                if unknown:
                    raise ConfigError(f"{path}: unknown setting(s) {sorted(unknown)} in [{key}]; "
                                      f"known: {list(SECTIONS[key])}")
                values.update(value)
            elif key in {f.name for f in fields(cls)}:
                values[key] = value
            else:
                raise ConfigError(f"{path}: unknown setting {key!r}")
        values.update(overrides or {})
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _sections(cls: type) -> dict[str, tuple[str, ...]]:
    sections: dict[str, list[str]] = {}
    for f in fields(cls):
        sections.setdefault(f.metadata["section"], []).append(f.name)
    return {section: tuple(names) for section, names in sections.items()}


# section -> its settings, in declaration order: the layout of a run's config.toml
SECTIONS = _sections(TrainConfig)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")
