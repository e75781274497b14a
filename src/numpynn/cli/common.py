"""What every command shares: the one-line argparse errors, flags read as settings, loading a model."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..config import BOOL, ConfigError, TrainConfig


class Parser(argparse.ArgumentParser):
    """Errors in one short line (plus where to look), not the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


SETTINGS = {f.name: f for f in fields(TrainConfig)}


def parse_value(name: str, text: str):
    """A flag's text as the value of setting `name`, read the way the setting's kind says."""
    try:
        return SETTINGS[name].metadata["kind"].from_text(text)
    except ConfigError as exc:  # our own message; a plain ValueError gets argparse's "invalid ... value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_setting_flags(p: argparse.ArgumentParser) -> None:
    """A flag for every TrainConfig setting (--hidden, --lr, --no-augment, ...), None where not given."""
    for f in fields(TrainConfig):
        # argparse expands help with `%`, so a literal one ("85-115 %") must reach it as "%%"
        flag, text = "--" + f.name.replace("_", "-"), f.metadata["help"].replace("%", "%%")
        if f.metadata["kind"] is BOOL:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            p.add_argument(flag, dest=f.name, default=None, help=text, type=lambda t, n=f.name: parse_value(n, t))


def setting_overrides(args) -> dict:
    """The settings given as flags."""
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}


def config_from_args(args, overrides: dict | None = None) -> TrainConfig:
    """--config's file (if given) with the flags over it."""
    overrides = setting_overrides(args) if overrides is None else overrides
    return TrainConfig.from_toml(args.config, overrides) if args.config else TrainConfig(**overrides)


def load_model(path):
    from ..model import Sequential

    return Sequential.load(path)
