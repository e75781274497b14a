"""The fuzzing corpus replayed: every file in fuzz/corpus/<target>/ of every fuzz/targets_*.py module ends in a
result or in numpynn's own error, in a process limited to fuzz/harness.py's MEMORY_LIMIT and CASE_SECONDS."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"


def _harness():
    spec = importlib.util.spec_from_file_location("numpynn_fuzz_harness", FUZZ / "harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


harness = _harness()
TARGETS = sorted(harness.all_targets())


def test_every_target_module_is_found_and_has_a_corpus():
    modules = harness.target_modules()
    assert {p.stem for p in FUZZ.glob("targets_*.py")} == set(modules)
    assert {"load", "read_header"} <= set(TARGETS)
    for name in TARGETS:
        assert harness.corpus_files(name), f"fuzz/corpus/{name}/ is empty"


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays_to_results_or_numpynn_errors(target):
    files = harness.corpus_files(target)
    outcomes = harness.replay(target, files)
    assert sorted(o.path for o in outcomes) == sorted(map(str, files))  # every file ran
    bad = [f"{Path(o.path).name}: {o.kind}\n{o.detail}" for o in outcomes if not o.acceptable]
    assert not bad, "\n\n".join(bad)
    kinds = {o.kind for o in outcomes}
    assert kinds <= {"ok", "numpynn-error"}


def _raises_key_error(path):
    raise KeyError("mean")


def _hangs(path):
    time.sleep(30)


def test_the_harness_tells_the_outcomes_apart(tmp_path):
    from numpynn.errors import ModelFileError

    def refuses(path):
        raise ModelFileError("no")

    p = tmp_path / "x"
    assert harness.classify_call(lambda path: None, p)[0] == "ok"
    assert harness.classify_call(refuses, p)[0] == "numpynn-error"
    assert harness.classify_call(_raises_key_error, p)[0] == "exception"
    t0 = time.monotonic()
    assert harness.classify_call(_hangs, p, seconds=0.3)[0] == "timeout"
    assert time.monotonic() - t0 < 10


def test_an_allocation_beyond_the_limit_is_a_finding(tmp_path, engine):
    if engine == "c":
        pytest.skip("the limit does not depend on the engine; run once")
    code = (f"import sys; sys.path.insert(0, {str(FUZZ)!r}); import harness; harness.limit_process(); "
            "print(harness.classify_call(lambda p: bytearray(4 * 2**30), None)[0])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=harness._child_env())
    assert r.stdout.strip() == "memory", r.stderr
