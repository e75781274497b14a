"""numpynn tune: the space file and its errors, searches on real Optuna studies (SQLite, and PostgreSQL where a
server can be started), pruning, resume, two workers sharing a study, and a worker killed mid-trial."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import numpynn as nn
from numpynn.config import ConfigError, TrainConfig
from numpynn.errors import NumpynnError
from numpynn.tune import parse_space

optuna = pytest.importorskip("optuna")

PENGUINS = Path(__file__).parent / "data" / "penguins.csv"
ROOT = Path(__file__).resolve().parents[1]
QUIET = lambda *a, **k: None  # noqa: E731
SPACE = {"space": {"lr": {"low": 1e-3, "high": 3e-2, "log": True}, "hidden": {"choices": [[4], [8, 4]]}},
         "pruner": {"kind": "none"}}


def base(**kw) -> TrainConfig:
    """A run of a fraction of a second: the penguins table, a tiny network, a few epochs."""
    settings = {"dataset": str(PENGUINS), "label_column": "species", "hidden": [8], "epochs": 3, "batch_size": 32,
                "doctor": False, "seed": 0}
    return TrainConfig(**{**settings, **kw})


@pytest.fixture
def one_engine(engine):
    if engine != "numpy":
        pytest.skip("the search is engine-independent glue around runs; each engine's training is checked elsewhere")


def trials_of(out: Path, study: str | None = None) -> list:
    storage = f"sqlite:///{out / 'study.db'}"
    return optuna.load_study(study_name=study or out.name, storage=storage).get_trials()


def states(trials) -> list[str]:
    return [t.state.name for t in trials]


def cli(*args, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "numpynn.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=240, **kw)


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_nn_tune_is_the_search_and_importing_numpynn_loads_no_optuna():
    from numpynn.tune import tune

    assert nn.tune is tune
    code = "import sys, numpynn; print(sorted({'optuna', 'sqlalchemy'} & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout == "[]\n"


# --- the space file -----------------------------------------------------------------------------------------

def test_a_space_reads_ranges_choices_the_pruner_and_the_objective():
    searched = {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "epochs": {"low": 2, "high": 6},
                "hidden": {"choices": [[256], [512, 256]]}, "optimizer": {"choices": ["adam", "sgd"]}}
    space = parse_space({"space": searched,
                         "pruner": {"kind": "hyperband", "reduction_factor": 2},
                         "search": {"objective": "val_accuracy", "sampler": "random", "seed": 3}})
    by = {p.name: p for p in space.params}
    assert (by["lr"].low, by["lr"].high, by["lr"].log, by["lr"].is_int) == (1e-4, 1e-2, True, False)
    assert by["epochs"].is_int and (by["epochs"].low, by["epochs"].high) == (2, 6)
    assert by["hidden"].encoded_choices() == ["[256]", "[512, 256]"] and by["hidden"].decode("[512, 256]") == [512, 256]
    assert space.pruner == "hyperband" and space.pruner_settings == {"min_epochs": 1, "reduction_factor": 2}
    assert (space.direction, space.sampler, space.seed) == ("maximize", "random", 3)
    assert parse_space({"space": {"dropout": {"low": 0.0, "high": 0.3}}}).direction == "minimize"  # val_loss


@pytest.mark.parametrize("raw, says", [
    ({}, "the space is empty"),
    ({"space": {}}, "the space is empty"),
    ({"space": {"learning_rate": {"low": 1, "high": 2}}}, "unknown setting 'learning_rate'"),
    ({"space": {"lr": {"low": 1e-2, "high": 1e-4}}}, "low 0.01 is above high 0.0001"),
    ({"space": {"epochs": {"low": 8, "high": 2}}}, "low 8 is above high 2"),
    ({"space": {"lr": {"low": 0.0, "high": 1e-2, "log": True}}}, "a log range needs low > 0"),
    ({"space": {"lr": {"low": 1e-4}}}, "takes low, high and optionally log and step"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2, "lg": True}}}, "takes low, high and optionally log and step"),
    ({"space": {"lr": {"low": "a", "high": 1e-2}}}, "low must be a finite number"),
    ({"space": {"epochs": {"low": 1.5, "high": 4}}}, "low must be an integer"),
    ({"space": {"dropout": {"low": 0.0, "high": 1.5}}}, "dropout must be in [0, 1)"),
    ({"space": {"lr": {"low": -1.0, "high": 1e-2}}}, "lr must be > 0"),
    ({"space": {"optimizer": {"low": 1, "high": 2}}}, "is not a number"),
    ({"space": {"hidden": {"choices": []}}}, "choices must be a non-empty list"),
    ({"space": {"hidden": {"choices": [[8], [8]]}}}, "lists a value twice"),
    ({"space": {"hidden": {"choices": [[8], [-3]]}}}, "hidden must be a list of positive integers"),
    ({"space": {"schedule": {"choices": ["cosine", "wavy"]}}}, "schedule must be one of"),
    ({"space": {"lr": 0.01}}, "must be a table"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}, "pruners": {}}, "unknown section(s) ['pruners']"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}, "pruner": {"kind": "asha"}}, "[pruner] kind must be one of"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}, "pruner": {"kind": "median", "min_epochs": 2}},
     "[pruner] median takes"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}, "search": {"objective": "loss"}}, "a validation figure"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}, "search": {"sampler": "grid"}}, "sampler must be one of"),
])
def test_a_bad_space_is_refused_saying_which_entry_and_why(raw, says):
    with pytest.raises(ConfigError) as err:
        parse_space(raw, where="space.toml")
    assert says in str(err.value) and str(err.value).startswith("space.toml")


def test_a_space_file_that_is_not_toml_is_refused(tmp_path):
    from numpynn.tune import load_space

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_space(write_toml(tmp_path / "space.toml", "[space\nlr = "))
    with pytest.raises(ConfigError, match="cannot read space"):
        load_space(tmp_path / "missing.toml")


# --- a search ------------------------------------------------------------------------------------------------

def test_a_search_makes_run_folders_and_continues_where_it_stopped(tmp_path):
    out = tmp_path / "search"
    result = nn.tune(base(), SPACE, trials=3, out=out, report=False, trial_reports=False, log=QUIET)
    assert states(trials_of(out)) == ["COMPLETE"] * 3 and result.n_finished == 3
    best = trials_of(out)[result.best_number]
    assert result.best_value == best.value == min(t.value for t in trials_of(out))
    run = result.best_run_dir
    assert run == out / "trials" / f"{result.best_number:04d}"
    model = nn.load(run / "model.safetensors")  # an ordinary run folder, with the trial's settings in its config
    config = TrainConfig.from_toml(run / "config.toml")
    assert config.lr == pytest.approx(best.params["lr"]) and config.hidden == result.best_params["hidden"]
    widths = [layer.params["W"].shape[1] for layer in model.layers if isinstance(layer, nn.Dense)]
    assert model.epoch == 3 and widths == [*config.hidden, 3]  # the network the trial's config describes
    again = nn.tune(base(), SPACE, trials=4, out=out, report=False, trial_reports=False, log=QUIET)
    assert again.n_finished == 4 and len(trials_of(out)) == 4  # one more trial, none run twice
    assert len({t.params["lr"] for t in trials_of(out)}) == 4  # the resumed sampler does not draw trial 0 again
    assert nn.tune(base(), SPACE, trials=4, out=out, report=False, trial_reports=False, log=QUIET).n_finished == 4


def test_a_changed_base_config_or_space_is_refused_and_the_study_left_alone(tmp_path):
    out = tmp_path / "search"
    nn.tune(base(), SPACE, trials=1, out=out, report=False, trial_reports=False, log=QUIET)
    with pytest.raises(ConfigError, match="was started with another base config"):
        nn.tune(base(epochs=4), SPACE, trials=2, out=out, report=False, log=QUIET)
    other = {**SPACE, "space": {"lr": {"low": 1e-3, "high": 1e-2}}}
    with pytest.raises(ConfigError, match="was started with another space"):
        nn.tune(base(), other, trials=2, out=out, report=False, log=QUIET)
    assert len(trials_of(out)) == 1 and sorted(p.name for p in out.iterdir()) == ["study.db", "trials"]


def test_a_new_study_does_not_write_over_another_ones_trials(tmp_path):
    out = tmp_path / "search"
    nn.tune(base(), SPACE, trials=1, out=out, report=False, trial_reports=False, log=QUIET)
    with pytest.raises(ConfigError, match="holds the trials of another study"):
        nn.tune(base(), SPACE, trials=1, out=out, study="another", report=False, log=QUIET)
    (out / "study.db").unlink()
    with pytest.raises(ConfigError, match="holds trials but .* is missing"):
        nn.tune(base(), SPACE, trials=1, out=out, report=False, log=QUIET)
    assert not (out / "study.db").exists()


def test_a_failure_every_trial_repeats_stops_the_search(tmp_path):
    space = {**SPACE, "search": {"objective": "val_r2"}}  # a classification records no val_r2
    with pytest.raises(ConfigError, match=r"trials \[0, 1, 2\] all failed alike.*'val_r2' is not a figure"):
        nn.tune(base(), space, trials=5, out=tmp_path / "search", report=False, trial_reports=False, log=QUIET)
    assert states(trials_of(tmp_path / "search")) == ["FAIL"] * 3


def test_no_trial_starts_after_the_timeout(tmp_path):
    result = nn.tune(base(), SPACE, trials=50, out=tmp_path / "search", timeout=1e-6, report=False,
                     trial_reports=False, log=QUIET)
    assert result.n_finished == 0 and trials_of(tmp_path / "search") == []


@pytest.mark.parametrize("kw, says", [
    ({"trials": 0}, "trials must be a positive integer"),
    ({"trials": True}, "trials must be a positive integer"),
    ({"jobs": 0}, "jobs must be a positive integer"),
    ({"timeout": -1}, "timeout must be a positive number"),
    ({"config": TrainConfig(validation_split=0.0)}, "needs validation_split > 0"),
    ({"space": {"space": {}}}, "the space is empty"),
    ({"storage": "postgresql://nobody:secret@127.0.0.1:9/nowhere"}, "cannot open the study storage"),
    ({"storage": "nosuchdb://x"}, "cannot open the study storage"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kw, says):
    args = {"config": base(), "space": SPACE, "trials": 2, "out": tmp_path / "search", **kw}
    with pytest.raises(NumpynnError) as err:
        nn.tune(**args, log=QUIET)
    assert says in str(err.value) and "secret" not in str(err.value)
    assert not (tmp_path / "search").exists()


def test_without_optuna_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(NumpynnError, match=r"pip install 'numpynn\[tune\]'"):
        nn.tune(base(), SPACE, trials=1, out=tmp_path / "search", log=QUIET)
    assert not (tmp_path / "search").exists()


def test_trials_falling_behind_are_pruned_after_an_epoch_and_keep_their_run_folder(tmp_path):
    # a rate that learns next to one that barely moves: once one trial finished, the slow ones fall behind
    space = {"space": {"lr": {"choices": [3e-2, 1e-7]}}, "pruner": {"kind": "median", "startup_trials": 1},
             "search": {"sampler": "random", "seed": 0}}
    out = tmp_path / "search"
    nn.tune(base(epochs=5), space, trials=6, out=out, report=False, trial_reports=False, log=QUIET)
    trials = trials_of(out)
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned and all(t.params["lr"] == 1e-7 for t in pruned)
    for t in pruned:  # stopped at the epoch the pruner said, with the whole run folder written
        history = nn.load(out / t.user_attrs["run_dir"] / "model.safetensors").history
        assert len(history) == t.user_attrs["pruned_at"] < 5 and history.stopped_early
        assert max(t.intermediate_values) == t.user_attrs["pruned_at"]
    assert any(t.state.name == "COMPLETE" and len(t.intermediate_values) == 5 for t in trials)


def test_the_report_lists_every_trial_and_links_its_run_report(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "search"
    result = nn.tune(base(epochs=2), SPACE, trials=2, out=out, log=QUIET)
    page = result.report.read_text()
    assert result.report == out / "tune.html"
    for t in trials_of(out):
        assert f"href='trials/{t.number:04d}/report.html'" in page
        assert (out / "trials" / f"{t.number:04d}" / "report.html").is_file()
    assert "Best trials" in page and "data:image/png;base64," in page and "Which settings mattered" in page


def test_the_command_prints_the_report_and_refuses_bad_input_in_one_line(tmp_path, one_engine):
    config = write_toml(tmp_path / "base.toml", base(epochs=2).to_toml())
    space = write_toml(tmp_path / "space.toml", "[space]\nlr = { low = 1e-2, high = 1e-4 }\n")
    bad = cli("tune", "--config", config, "--space", space, "--trials", 2, "--out", tmp_path / "t")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        f"numpynn: error: {space}: [space] lr: low 0.01 is above high 0.0001"]
    write_toml(space, "[space]\nlr = { low = 1e-3, high = 1e-2, log = true }\n[pruner]\nkind = \"none\"\n")
    ok = cli("tune", "--config", config, "--space", space, "--trials", 2, "--out", tmp_path / "t", "--no-report")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == str(tmp_path / "t") and "trial 1: val_loss" in ok.stderr


# --- workers ---------------------------------------------------------------------------------------------------

def test_two_workers_share_one_study_with_the_cores_split_between_them(tmp_path, one_engine):
    from numpynn.data.prefetch import usable_cpus

    out = tmp_path / "search"
    result = nn.tune(base(), SPACE, trials=4, out=out, jobs=2, report=False, trial_reports=False, log=QUIET)
    trials = trials_of(out)
    # two workers may both start a trial when the study lacks one: at least 4, at most one more
    assert result.worker_statuses == [0, 0] and states(trials) == ["COMPLETE"] * len(trials) and 4 <= len(trials) <= 5
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes ran trials
    assert len({t.params["lr"] for t in trials}) == len(trials)  # each worker draws from its own seed
    pytest.importorskip("threadpoolctl")
    assert {t.user_attrs["blas_threads"] for t in trials} == {max(1, usable_cpus() // 2)}
    assert sorted(p.name for p in (out / "trials").iterdir()) == [f"{i:04d}" for i in range(len(trials))]


def _slow(tmp_path: Path, **kw) -> tuple[Path, Path]:
    """A base config whose trials take a few seconds, and a space without pruning."""
    config = write_toml(tmp_path / "base.toml", base(epochs=100, batch_size=8, **kw).to_toml())
    space = write_toml(tmp_path / "space.toml", "[space]\nlr = { low = 1e-3, high = 1e-2, log = true }\n"
                       "[pruner]\nkind = \"none\"\n")
    return config, space


def _kill_mid_trial(out: Path, proc: subprocess.Popen, deadline: float = 120) -> int:
    """SIGKILL the process running a trial once that trial has reported an epoch; the trial's number. The study
    is read straight from its SQLite file, read-only (opening it through Optuna would create its tables)."""
    import json
    import sqlite3

    query = ("SELECT t.number, a.value_json FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id "
             "WHERE t.state = 'RUNNING' AND a.key = 'worker' AND EXISTS (SELECT 1 FROM trial_intermediate_values v "
             "WHERE v.trial_id = t.trial_id)")
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with sqlite3.connect(f"file:{out / 'study.db'}?mode=ro", uri=True, timeout=5) as db:
                running = db.execute(query).fetchall()
        except sqlite3.OperationalError:  # not made yet
            running = []
        if running:
            number, worker = running[0]
            os.kill(int(json.loads(worker).rpartition(":")[2]), signal.SIGKILL)
            return number
        time.sleep(0.1)
    raise AssertionError("no trial reached its first epoch")


def test_a_worker_killed_mid_trial_loses_only_its_trial_and_the_study_goes_on(tmp_path, one_engine):
    config, space = _slow(tmp_path)
    out = tmp_path / "search"
    args = ["tune", "--config", config, "--space", space, "--trials", 2, "--out", out, "--jobs", 2, "--no-report"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    killed = _kill_mid_trial(out, proc)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 1 and "ended with status -9" in err  # the tuner says a worker died
    trials = {t.number: t for t in trials_of(out)}
    assert trials[killed].state.name == "FAIL" and "died" in trials[killed].user_attrs["error"]
    done = [t for t in trials.values() if t.state.name == "COMPLETE"]
    assert 2 <= len(done) <= 3 and len(trials) == len(done) + 1  # the other worker finished the study
    for t in done:  # intact run folders
        assert nn.load(out / t.user_attrs["run_dir"] / "model.safetensors").epoch == 100
    resumed = cli("tune", "--config", config, "--space", space, "--trials", 3, "--out", out, "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(states(trials_of(out))) == ["COMPLETE"] * 3 + ["FAIL"]  # (one more, or none was missing)


def test_a_killed_tuner_is_resumed_by_running_it_again(tmp_path, one_engine):
    config, space = _slow(tmp_path)
    out = tmp_path / "search"
    args = ["tune", "--config", config, "--space", space, "--trials", 2, "--out", out, "--no-report"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn.cli", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    killed = _kill_mid_trial(out, proc)
    proc.wait(timeout=60)
    assert states(trials_of(out)) == ["RUNNING"]  # nobody is left to say otherwise
    lines = []
    result = nn.tune(config, space, trials=2, out=out, report=False, log=lines.append)
    assert f"trial(s) [{killed}] of a stopped worker marked failed" in lines[0]
    assert states(trials_of(out)) == ["FAIL", "COMPLETE", "COMPLETE"] and result.n_finished == 2


# --- PostgreSQL ------------------------------------------------------------------------------------------------

def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True) + [Path("/usr/local/bin")]:
        if (folder / name).is_file():
            return str(folder / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A PostgreSQL server of its own in a temporary folder, on a free port; its URL. As root the server runs as
    the `postgres` user (PostgreSQL refuses root)."""
    pytest.importorskip("psycopg", reason="no PostgreSQL driver for postgresql:// URLs (pip install 'psycopg[binary]')")
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (tools/install-system-deps.sh installs them)")
    # not under pytest's own temporary folder: that one is private to this user, and the server may run as another
    folder = Path(tempfile.mkdtemp(prefix="numpynn-postgres-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    try:
        made = subprocess.run([*prefix, initdb, "-D", data, "-U", "postgres", "--auth=trust"], capture_output=True,
                              text=True)
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {made.stderr.strip()[-300:]}")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run([*prefix, pg_ctl, "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
                                 capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {started.stderr.strip()[-300:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_workers_share_a_study_in_postgresql(tmp_path, one_engine, postgres):
    out = tmp_path / "search"
    result = nn.tune(base(), SPACE, trials=3, out=out, jobs=2, storage=postgres, study="penguins", report=False,
                     trial_reports=False, log=QUIET)
    assert result.worker_statuses == [0, 0] and 3 <= result.n_finished <= 4 and not (out / "study.db").exists()
    trials = optuna.load_study(study_name="penguins", storage=postgres).get_trials()
    assert states(trials) == ["COMPLETE"] * result.n_finished
    assert all((out / t.user_attrs["run_dir"] / "model.safetensors").is_file() for t in trials)


# --- Dask ------------------------------------------------------------------------------------------------------

def test_the_workers_run_as_tasks_of_a_dask_local_cluster(tmp_path, one_engine):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "search"
    result = nn.tune(base(), SPACE, trials=3, out=out, jobs=2, dask="local", report=False, trial_reports=False,
                     log=QUIET)
    trials = trials_of(out)
    assert 3 <= result.n_finished <= 4 and states(trials) == ["COMPLETE"] * result.n_finished
    pids = {int(t.user_attrs["worker"].rpartition(":")[2]) for t in trials}
    assert os.getpid() not in pids  # the trials ran in the cluster's worker processes
    assert all((out / t.user_attrs["run_dir"] / "model.safetensors").is_file() for t in trials)
    with pytest.raises(ConfigError, match="dask must be a scheduler address"):
        nn.tune(base(), SPACE, trials=3, out=out, dask="scheduler:8786", log=QUIET)
