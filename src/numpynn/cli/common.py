"""What every command shares: the one-line argparse errors, flags read as settings, loading a model."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..config import ConfigError, TrainConfig


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


def load_model(path):
    from ..model import Sequential

    return Sequential.load(path)
