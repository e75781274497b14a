"""TrainConfig: each setting declared once; the TOML file, the checks, the CLI flags and their help follow from it."""

from __future__ import annotations

import argparse
import dataclasses
import typing

import pytest

from numpynn.cli import build_parser
from numpynn.config import BOOL, COLUMNS, FLOAT, INT, NAMES, NUMBERS, SECTIONS, SIZES, STR, ConfigError, TrainConfig

FIELDS = dataclasses.fields(TrainConfig)
ANNOTATION_KIND = {bool: BOOL, int: INT, float: FLOAT, str: STR, list[int]: SIZES, list[float]: NUMBERS,
                   str | list[str]: NAMES, list[str]: COLUMNS}

# a value of every setting that differs from its default and passes the checks
CHANGED = dict(hidden=[7, 5], activation=["tanh", "relu"], init="he_normal", bias_init="small_normal", dropout=0.25,
               input_dropout=0.05,
               batchnorm=True, output="softmax", loss="cross_entropy", huber_delta=2.5, quantiles=[0.1, 0.9],
               log_target=True, optimizer="sgd", lr=0.05, momentum=0.9,
               nesterov=True, weight_decay=1e-4, clip_norm=1.5, schedule="step", warmup_epochs=0.5, step_epochs=3,
               gamma=0.25, epochs=4, batch_size=0, label_smoothing=0.1, early_stopping=2, average_decay=0.99,
               average_start_epoch=2, seed=11, dtype="float64", precision="bf16", dataset="data/my file.csv",
               validation_split=0.2, normalize="standardize", augment=False, shift=1.0, rotate=5.5, elastic=0.5,
               elastic_sigma=4.0, scale=0.15, noise=0.01, flip=0.5, doctor=False, label_column="species",
               task="regression", categorical=["island", "year"], numeric=["code"], drop=["rownames"],
               stream="on")


def train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_changed_covers_every_setting_and_differs_from_the_default():
    assert CHANGED.keys() == {f.name for f in FIELDS}
    default = TrainConfig()
    assert all(getattr(default, name) != value for name, value in CHANGED.items())


def test_every_setting_is_in_exactly_one_toml_section_in_declaration_order():
    listed = [name for names in SECTIONS.values() for name in names]
    assert listed == [f.name for f in FIELDS]  # each once, none missing, file order = declaration order
    assert list(SECTIONS) == ["model", "training", "data"]
    for f in FIELDS:
        assert f.name in SECTIONS[f.metadata["section"]]


def test_every_setting_kind_agrees_with_its_annotation():
    hints = typing.get_type_hints(TrainConfig)
    for f in FIELDS:
        assert f.metadata["kind"] is ANNOTATION_KIND[hints[f.name]], f.name


def test_every_setting_has_a_cli_flag_with_its_help_text():
    actions = {a.dest: a for a in train_parser()._actions}
    for f in FIELDS:
        action = actions[f.name]
        flag = "--" + f.name.replace("_", "-")
        assert flag in action.option_strings
        assert action.help and action.help % {} == f.metadata["help"]  # as argparse expands it: "%%" is "%"
        assert action.default is None  # an unset flag leaves the config file's (or the default) value
        if f.metadata["kind"] is BOOL:
            assert "--no-" + flag[2:] in action.option_strings


def test_cli_flags_reach_every_setting_with_its_type():
    argv = ["train"]
    for name, value in CHANGED.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        else:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    args = build_parser().parse_args(argv)
    assert TrainConfig(**{f.name: getattr(args, f.name) for f in FIELDS}) == TrainConfig(**CHANGED)
    assert build_parser().parse_args(["train", "--activation", "relu"]).activation == "relu"
    assert build_parser().parse_args(["train", "--hidden", ""]).hidden == []
    assert build_parser().parse_args(["train", "--quantiles", "0.1, 0.5,0.9"]).quantiles == [0.1, 0.5, 0.9]
    with pytest.raises(SystemExit):  # argparse reports the ConfigError of text that is not numbers
        build_parser().parse_args(["train", "--quantiles", "0.1,median"])


def test_a_config_round_trips_through_toml(tmp_path):
    config = TrainConfig(**CHANGED)
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    again = TrainConfig.from_toml(path)
    assert again == config and again.to_toml() == config.to_toml()
    assert TrainConfig.from_toml(path, {"epochs": 9}) == dataclasses.replace(config, epochs=9)


def test_toml_layout_is_sections_in_order_with_every_value():
    text = TrainConfig().to_toml()
    assert [line for line in text.splitlines() if line.startswith("[")] == ["[model]", "[training]", "[data]"]
    assert "hidden = [512, 256]\n" in text and 'activation = "relu"\n' in text and "augment = true\n" in text
    assert "lr = 0.002\n" in text and "epochs = 30\n" in text and "warmup_epochs = 0.0\n" in text


def test_an_integer_in_a_file_for_a_float_setting_is_read_and_saved_as_a_float(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[training]\nlr = 1\n")
    config = TrainConfig.from_toml(path)
    assert isinstance(config.lr, float) and "lr = 1.0\n" in config.to_toml()


def test_unknown_settings_and_sections_are_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[model]\nlayers = 3\n")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['layers'\] in \[model\]; known: \['hidden'"):
        TrainConfig.from_toml(path)
    path.write_text("[training]\nhidden = [3]\n")  # a real setting, in the wrong section
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['hidden'\] in \[training\]"):
        TrainConfig.from_toml(path)
    path.write_text("[modle]\nhidden = [3]\n")
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        TrainConfig.from_toml(path)


@pytest.mark.parametrize("name", [f.name for f in FIELDS])
def test_a_value_of_the_wrong_type_names_the_setting_and_what_came(name):
    with pytest.raises(ConfigError, match=rf"^{name} must be .*, got \{{'x': 1\}}"):
        TrainConfig(**{name: {"x": 1}})


@pytest.mark.parametrize("values, message", [
    ({"epochs": True}, "epochs must be int, got True (bool)"),
    ({"dropout": "0.1"}, "dropout must be float, got '0.1' (str)"),
    ({"init": 3}, "init must be str, got 3 (int)"),
    ({"batchnorm": 1}, "batchnorm must be bool, got 1 (int)"),
    ({"hidden": [64, 0]}, "hidden must be a list of positive integers, got [64, 0]"),
    ({"activation": ["relu", 1]}, "activation must be a name or a list of names, got ['relu', 1]"),
    ({"lr": float("nan")}, "lr must be finite, got nan"),
    ({"lr": 0}, "lr must be > 0, got 0.0"),
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"batch_size": -1}, "batch_size must be >= 0 (0 = full batch), got -1"),
    ({"dropout": 1}, "dropout must be in [0, 1), got 1.0"),
    ({"input_dropout": -0.1}, "input_dropout must be in [0, 1), got -0.1"),
    ({"validation_split": 1.0}, "validation_split must be in [0, 1), got 1.0"),
    ({"early_stopping": -1}, "early_stopping must be >= 0, got -1"),
    ({"average_decay": 1.5}, "average_decay must be in [0, 1) (0 = off), got 1.5"),
    ({"average_start_epoch": 0}, "average_start_epoch must be >= 1, got 0"),
    ({"seed": -1}, "seed must be >= 0, got -1"),
    ({"momentum": 1}, "momentum must be in [0, 1), got 1.0"),
    ({"weight_decay": -1}, "weight_decay must be >= 0, got -1.0"),
    ({"schedule": "linear"},
     "schedule must be one of ('none', 'cosine', 'step', 'exponential', 'one_cycle', 'plateau'), got 'linear'"),
    ({"output": "tanh"}, "output must be one of ('auto', 'softmax', 'sigmoid'), got 'tanh'"),
    ({"normalize": "minmax"},
     "normalize must be one of ('auto', 'scale', 'standardize', 'robust', 'none'), got 'minmax'"),
    ({"dtype": "float16"}, "dtype must be one of ('float32', 'float64'), got 'float16'"),
    ({"huber_delta": 0}, "huber_delta must be > 0, got 0.0"),
    ({"huber_delta": -1.5}, "huber_delta must be > 0, got -1.5"),
    ({"quantiles": [0.5, 1]}, "quantiles must be 1 to 99 different numbers strictly between 0 and 1, got [0.5, 1.0]"),
    ({"quantiles": [0.0]}, "quantiles must be 1 to 99 different numbers strictly between 0 and 1, got [0.0]"),
    ({"quantiles": []}, "quantiles must be 1 to 99 different numbers strictly between 0 and 1, got []"),
    ({"quantiles": [0.5, 0.5]}, "quantiles must be 1 to 99 different numbers strictly between 0 and 1, got [0.5, 0.5]"),
    ({"quantiles": ["0.5"]}, "quantiles must be a list of finite numbers, got ['0.5']"),
    ({"quantiles": [float("inf")]}, "quantiles must be a list of finite numbers, got [inf]"),
    ({"log_target": 1}, "log_target must be bool, got 1 (int)"),
    ({"hidden": [8], "activation": ["relu", "tanh"]},
     "activation lists one name per hidden layer: 1 hidden layers, got 2 names"),
])
def test_a_bad_value_gets_a_message_with_what_was_expected_and_what_came(values, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**values)
    assert str(info.value) == message


def test_a_bad_value_in_a_file_names_the_setting(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[training]\nschedule = "linear"\n')
    with pytest.raises(ConfigError, match="^schedule must be one of"):
        TrainConfig.from_toml(path)


def test_each_config_gets_its_own_list_default():
    a, b = TrainConfig(), TrainConfig()
    a.hidden.append(3)
    assert b.hidden == [512, 256] == TrainConfig().hidden
