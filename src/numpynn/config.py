"""TrainConfig: every choice of a training run, from command-line flags or a TOML file, saved with the run.

`numpynn train --config runs/X/config.toml` repeats run X exactly: the file holds every field, defaults included.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import NumpynnError

SECTIONS = {
    "model": ("hidden", "activation", "init", "dropout", "input_dropout", "batchnorm", "output"),
    "training": ("loss", "optimizer", "lr", "momentum", "nesterov", "weight_decay", "clip_norm", "schedule",
                 "warmup_epochs", "step_epochs", "gamma", "epochs", "batch_size", "label_smoothing",
                 "early_stopping", "average_decay", "average_start_epoch", "seed", "dtype"),
    "data": ("dataset", "validation_split", "normalize", "augment", "shift", "rotate", "elastic", "noise", "flip"),
}


# the type each setting must have in a file or on the command line ("activation" is checked on its own)
FIELD_TYPES: dict[str, type] = {
    "hidden": list, "activation": object, "init": str, "dropout": float, "input_dropout": float,
    "batchnorm": bool, "output": str,
    "loss": str, "optimizer": str, "lr": float, "momentum": float, "nesterov": bool, "weight_decay": float,
    "clip_norm": float, "schedule": str, "warmup_epochs": float, "step_epochs": int, "gamma": float,
    "epochs": int, "batch_size": int, "label_smoothing": float, "early_stopping": int, "average_decay": float,
    "average_start_epoch": int, "seed": int,
    "dtype": str, "dataset": str, "validation_split": float, "normalize": str, "augment": bool,
    "shift": float, "rotate": float, "elastic": float, "noise": float, "flip": float,
}


class ConfigError(NumpynnError, ValueError):
    """A configuration value or file is not usable."""


@dataclass
class TrainConfig:
    # model
    # the defaults are numpynn's recipe for the bundled MNIST sample (97.7-97.9 % test accuracy in 11-17 s on 2 cores)
    hidden: list[int] = field(default_factory=lambda: [512, 256])
    activation: str | list[str] = "relu"  # one name for every hidden layer, or one per layer
    init: str = "auto"
    dropout: float = 0.1
    input_dropout: float = 0.0  # dropout on the input pixels themselves
    batchnorm: bool = False
    output: str = "auto"  # "auto" (logits, activation fused into the loss), "softmax" or "sigmoid" as a layer
    # training
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    clip_norm: float = 0.0  # 0 = no clipping
    schedule: str = "cosine"  # none | cosine | step | exponential | one_cycle | plateau
    warmup_epochs: float = 0.0
    step_epochs: int = 10
    gamma: float = 0.5
    epochs: int = 30
    batch_size: int = 128  # 0 = the whole training set in one batch (full-batch gradient descent)
    label_smoothing: float = 0.0
    early_stopping: int = 0  # patience in epochs; 0 = off
    average_decay: float = 0.0  # end with a moving average of the weights (e.g. 0.999); 0 = off
    average_start_epoch: int = 1
    seed: int = 0
    dtype: str = "float32"
    # data
    dataset: str = "mnist-sample"
    validation_split: float = 0.1
    normalize: str = "scale"
    augment: bool = True  # applies to image datasets only
    shift: float = 2.0
    rotate: float = 10.0
    elastic: float = 0.0
    noise: float = 0.0
    flip: float = 0.0  # chance of a left-right mirror (clothing, not digits)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check types and ranges; the error names the field, what it must be and what it got."""
        for f in fields(self):
            value = getattr(self, f.name)
            want = FIELD_TYPES[f.name]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, f.name, value)
            if want is list:
                ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                      for v in value)
                if not ok:
                    raise ConfigError(f"{f.name} must be a list of positive integers, got {value!r}")
            elif f.name == "activation":
                if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
                    raise ConfigError(f"activation must be a name or a list of names, got {value!r}")
            elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise ConfigError(f"{f.name} must be {want.__name__}, got {value!r} ({type(value).__name__})")
            if want is float and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be finite, got {value!r}")
        checks = [("lr", self.lr > 0, "> 0"), ("epochs", self.epochs >= 1, ">= 1"),
                  ("batch_size", self.batch_size >= 0, ">= 0 (0 = full batch)"),
                  ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
                  ("input_dropout", 0 <= self.input_dropout < 1, "in [0, 1)"),
                  ("validation_split", 0 <= self.validation_split < 1, "in [0, 1)"),
                  ("early_stopping", self.early_stopping >= 0, ">= 0"),
                  ("average_decay", 0 <= self.average_decay < 1, "in [0, 1) (0 = off)"),
                  ("average_start_epoch", self.average_start_epoch >= 1, ">= 1"), ("seed", self.seed >= 0, ">= 0"),
                  ("momentum", 0 <= self.momentum < 1, "in [0, 1)"), ("weight_decay", self.weight_decay >= 0, ">= 0")]
        for name, ok, rule in checks:
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        choices = {"schedule": ("none", "cosine", "step", "exponential", "one_cycle", "plateau"),
                   "output": ("auto", "softmax", "sigmoid"), "normalize": ("scale", "standardize", "none"),
                   "dtype": ("float32", "float64")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
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
        try:
            raw = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
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
