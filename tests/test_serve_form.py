"""The form page's endpoint for a model trained on a table, on a real HTTP server on 127.0.0.1: rows of JSON are
answered exactly as `numpynn predict --json` answers a CSV of the same rows, every cell is checked (a hostile
body gets a 400 with a message, never a 500), 8 threads get the serial answers, names reach the page only as
text, and image models keep the draw page."""

from __future__ import annotations

import csv
import http.client
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from numpynn.cli import main
from numpynn.data.table import read_table
from numpynn.serve import DrawModel, FormModel, load_served
from numpynn.serve.rows import MAX_ROWS
from numpynn.serve.server import MAX_BODY
from numpynn.tables import prepare

from .serve_support import RunningServer, as_body, draw_one, train_digit_model, train_table_model

DATA = Path(__file__).parent / "data"
PENGUINS = DATA / "penguins.csv"
STATIC = Path(__file__).parents[1] / "src" / "numpynn" / "serve" / "static"
MISSING = ("", "NA")


def _rows_of_csv(path: Path, numeric: set[str]) -> list[dict]:
    """A CSV's rows as the JSON a client sends: numbers for number columns, null for a missing cell."""
    with open(path, newline="") as f:
        return [{k: None if v in MISSING else float(v) if k in numeric else v for k, v in row.items()}
                for row in csv.DictReader(f)]


def _predict_json(capsys, model: Path, rows_csv: Path) -> dict:
    capsys.readouterr()
    assert main(["predict", str(model), str(rows_csv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def penguins_model(tmp_path_factory) -> Path:
    return train_table_model(PENGUINS, tmp_path_factory.mktemp("penguins") / "run", "species")


@pytest.fixture(scope="module")
def server(penguins_model):
    running = RunningServer(load_served(penguins_model))
    yield running
    running.close()


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> tuple[Path, Path]:
    """A CSV with a row id (dropped), dates with times, a category and a number with missing cells, a category of 30
    values (an Embedding's codes), and the model `numpynn train` makes of it."""
    rng = np.random.default_rng(3)
    n = 240
    x = rng.normal(size=n)
    days = rng.integers(0, 700, n)
    hours = rng.integers(0, 24, n)
    colors = np.array(["red", "green", "blue"])[rng.integers(0, 3, n)]
    cities = [f"city {k}" for k in rng.integers(0, 30, n)]
    folder = tmp_path_factory.mktemp("dated")
    lines = ["id,when,color,city,x,label"]
    for i in range(n):
        when = np.datetime64("2021-01-01T00:00") + np.timedelta64(int(days[i]), "D") + np.timedelta64(int(hours[i]),
                                                                                                          "h")
        cell_x = "" if i % 11 == 0 else f"{x[i]:.3f}"
        color = "NA" if i % 7 == 0 else colors[i]
        label = "yes" if x[i] + (colors[i] == "red") > 0.3 else "no"
        lines.append(f"{i},{str(when).replace('T', ' ')}:00,{color},{cities[i]},{cell_x},{label}")
    path = folder / "dated.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, train_table_model(path, folder / "run", "label")


def test_the_info_describes_one_field_per_required_column(server, penguins_model):
    status, info = server.call("GET", "/api/info")
    assert status == 200
    model = info["model"]
    assert not model["drawable"] and "/form" in model["reason"]  # the draw page says where to go
    form = model["form"]
    assert form["task"] == "classification" and form["label_column"] == "species"
    assert model["class_names"] == form["outputs"] == ["Adelie", "Chinstrap", "Gentoo"]
    names = [c["name"] for c in form["columns"]]
    assert names == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
    by_name = {c["name"]: c for c in form["columns"]}
    assert by_name["island"] == {"name": "island", "kind": "category", "missing_seen": False,
                                 "categories": ["Biscoe", "Dream", "Torgersen"]}
    assert by_name["sex"]["categories"] == ["female", "male"] and by_name["sex"]["missing_seen"]
    record = FormModel.load(penguins_model).prep["table"]
    fills = {e["name"]: e["fill"] for e in record["columns"] if e["kind"] == "numeric"}
    assert {n: by_name[n]["median"] for n in fills} == fills  # the training medians, the placeholders
    assert by_name["body_mass_g"]["kind"] == "number" and by_name["body_mass_g"]["missing_seen"]
    assert form["ignored"] == ["species"]


def test_rows_are_answered_as_numpynn_predict_answers_their_csv(server, penguins_model, tmp_path, capsys):
    text = PENGUINS.read_text().splitlines()
    picked = [text[0]] + text[1:345:9] + [line for line in text if ",," in line]  # missing cells included
    rows_csv = tmp_path / "rows.csv"
    rows_csv.write_text("\n".join(picked) + "\n")
    numeric = {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"}
    rows = _rows_of_csv(rows_csv, numeric)
    assert any(r["sex"] is None for r in rows) and any(r["bill_length_mm"] is None for r in rows)
    expected = _predict_json(capsys, penguins_model, rows_csv)
    status, got = server.call("POST", "/api/table/predict", rows)  # the label column comes along, ignored
    assert status == 200 and got == expected
    assert len(set(got["labels"])) == 3
    # one row: what predict answers for a CSV of that row (an engine may round one row and a batch apart)
    for i in (0, len(rows) - 1):
        one_csv = tmp_path / f"one{i}.csv"
        one_csv.write_text(picked[0] + "\n" + picked[i + 1] + "\n")
        alone = _predict_json(capsys, penguins_model, one_csv)
        status, one = server.call("POST", "/api/table/predict", {k: v for k, v in rows[i].items() if k != "species"})
        assert status == 200 and one == {"prediction": alone["predictions"][0], "label": alone["labels"][0],
                                         "classes": alone["classes"], "probabilities": alone["probabilities"][0]}
        assert one["label"] == expected["labels"][i]
    # and through numpynn.tables.prepare + the model in Python, unrounded
    served = FormModel.load(penguins_model)
    proba = served.model.predict_proba(prepare(read_table(rows_csv), served.prep))
    assert got["probabilities"] == np.round(proba, 6).tolist()


def test_dates_categories_and_dropped_columns_answer_as_predict_does(dated, tmp_path, capsys):
    path, model = dated
    served = load_served(model)
    assert isinstance(served, FormModel)
    fields = {c["name"]: c for c in served.info()["form"]["columns"]}
    assert list(fields) == ["when", "color", "city", "x"] and served.ignored == ("label", "id")  # id: an identifier
    assert len(fields["city"]["categories"]) == 30 and served.model.layers[0].describe().startswith("Embedding")
    assert fields["when"]["kind"] == "date" and fields["when"]["time"]
    assert fields["when"]["median"].startswith(("2021-", "2022-")) and len(fields["when"]["median"]) == 16
    assert fields["color"]["missing_seen"] and fields["x"]["missing_seen"]
    rows = _rows_of_csv(path, {"x", "id"})[:60]
    rows_csv = tmp_path / "rows.csv"
    rows_csv.write_text("\n".join(path.read_text().splitlines()[:61]) + "\n")
    expected = _predict_json(capsys, model, rows_csv)
    running = RunningServer(served)
    try:
        status, got = running.call("POST", "/api/table/predict", rows)
        assert status == 200 and got == expected and len(set(got["labels"])) == 2
        # a date alone (no time), a category in another spelling of missing, an unseen category
        row = {"when": "2021-06-01", "color": "NA", "city": "city 3", "x": 0.5}
        status, out = running.call("POST", "/api/table/predict", row)
        same = running.call("POST", "/api/table/predict", dict(row, when="2021-06-01T00:00", color=None))[1]
        assert status == 200 and out == same
        unseen = {"when": None, "color": "purple", "city": "Atlantis", "x": None}
        assert running.call("POST", "/api/table/predict", unseen)[0] == 200
    finally:
        running.close()


@pytest.mark.parametrize("loss, outputs", [((), ["price"]),
                                           (("--loss", "quantile", "--quantiles", "0.1,0.9", "--log-target"),
                                            ["price_q0.1", "price_q0.9"])], ids=["mse", "quantile-log"])
def test_a_regression_model_answers_its_values(tmp_path, capsys, loss, outputs):
    model = train_table_model(DATA / "diamonds-1000.csv", tmp_path / "run", "price", 3, *loss)
    served = load_served(model)
    form = served.info()["form"]
    assert form["task"] == "regression" and form["outputs"] == outputs and served.info()["class_names"] == []
    assert {c["name"]: c["kind"] for c in form["columns"]}["cut"] == "category"
    assert "rownames" in form["ignored"]
    rows_csv = tmp_path / "rows.csv"
    rows_csv.write_text("\n".join((DATA / "diamonds-1000.csv").read_text().splitlines()[:41]) + "\n")
    numeric = {"rownames", "carat", "depth", "table", "price", "x", "y", "z"}
    rows = _rows_of_csv(rows_csv, numeric)
    expected = _predict_json(capsys, model, rows_csv)
    running = RunningServer(served)
    try:
        status, got = running.call("POST", "/api/table/predict", rows)
        assert status == 200 and got == expected
        one_csv = tmp_path / "one.csv"
        one_csv.write_text("\n".join(rows_csv.read_text().splitlines()[0:5:4]) + "\n")  # the header and row 4
        status, one = running.call("POST", "/api/table/predict", rows[3])
        assert status == 200 and one == {"prediction": _predict_json(capsys, model, one_csv)["predictions"][0]}
        assert np.allclose(one["prediction"], expected["predictions"][3], rtol=1e-5)
    finally:
        running.close()


def _row(**change):
    row = {"island": "Dream", "bill_length_mm": 45.0, "bill_depth_mm": 17.0, "flipper_length_mm": 195.0,
           "body_mass_g": 3900, "sex": "female", "year": 2008}
    row.update(change)
    return row


HOSTILE = [
    ("a string", "a row (a JSON object of column -> value) or a list of rows, got str"),
    (42, "got int"),
    ([], "a list of 1 to 1,000 rows"),
    ([_row()] * (MAX_ROWS + 1), "got 1,001"),
    ([_row(), "x"], "row 2 must be a JSON object"),
    (_row(colour="red"), "the model does not know: ['colour']"),
    ({"<script>": 1, **_row()}, "the model does not know: ['<script>']"),
    ({k: v for k, v in _row().items() if k not in ("sex", "year")}, "lacks column(s) ['sex', 'year']"),
    ([_row(), {k: v for k, v in _row().items() if k != "island"}], "row 2 lacks column(s) ['island']"),
    (_row(bill_length_mm="45.0"), "column 'bill_length_mm' must be a number"),
    (_row(bill_length_mm=True), "column 'bill_length_mm' must be a number"),
    (_row(bill_length_mm=[1]), "column 'bill_length_mm' must be a number"),
    (_row(body_mass_g=1e39), "within float32's range"),
    (_row(body_mass_g=10 ** 400), "within float32's range"),
    (_row(island={"a": 1}), "column 'island' must be a category"),
    (_row(island=["Dream"]), "column 'island' must be a category"),
    (_row(island="x" * 5000), "at most 4,096 characters"),
    (_row(island="Dre\0am"), "without a NUL byte"),
    ([_row(), _row(sex=1e300)], "row 2, column 'sex' must be a category"),
]


@pytest.mark.parametrize("body, message", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_get_a_400_with_a_message(server, body, message):
    status, out = server.call("POST", "/api/table/predict", body)
    assert status == 400 and message in out["error"], out


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_the_json_text_are_refused(server, token):
    raw = json.dumps(_row()).replace('"body_mass_g": 3900', f'"body_mass_g": {token}').encode()
    assert token.encode() in raw
    status, out = server.call("POST", "/api/table/predict", raw=raw)
    assert status == 400 and "column 'body_mass_g' must be a number" in out["error"]


@pytest.mark.parametrize("value", ["2024-13-45", "yesterday", "2024-05-01T25:00", 20240501, "2024-05-01" * 5])
def test_dates_that_are_not_dates_are_refused(dated, value):
    running = RunningServer(load_served(dated[1]))
    try:
        status, out = running.call("POST", "/api/table/predict", {"when": value, "color": "red", "city": "a", "x": 1})
        assert status == 400 and "column 'when' must be an ISO date" in out["error"], out
    finally:
        running.close()


def test_an_oversized_body_is_refused_before_it_is_read(server):
    raw = json.dumps([_row(island="x" * 4000)] * (MAX_BODY // 4000 + 1)).encode()
    assert len(raw) > MAX_BODY
    status, out = server.call("POST", "/api/table/predict", raw=raw)
    assert status == 413 and "at most" in out["error"]


def test_eight_threads_get_each_rows_serial_answer(server):
    rng = np.random.default_rng(0)
    bodies = [_row(island=str(rng.choice(["Biscoe", "Dream", "Torgersen"])), sex=rng.choice(["male", "female", None]),
                   bill_length_mm=round(float(rng.uniform(32, 60)), 1),
                   bill_depth_mm=round(float(rng.uniform(13, 21)), 1),
                   flipper_length_mm=float(rng.integers(170, 232)), body_mass_g=int(rng.integers(2700, 6300)))
              for _ in range(12)]
    bodies.append([bodies[0], bodies[5], bodies[7]])
    serial = [server.call("POST", "/api/table/predict", body)[1] for body in bodies]
    assert len({json.dumps(s["probabilities"]) for s in serial}) == len(bodies)  # every row told apart

    def client(k):
        got = []
        for i in range(26):
            j = (k * 5 + i) % len(bodies)
            got.append((j, server.call("POST", "/api/table/predict", bodies[j])))
        return got

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(client, range(8)) for r in batch]
    assert len(results) == 8 * 26
    for j, (status, out) in results:
        assert status == 200 and out == serial[j], j


def test_hostile_names_reach_the_page_only_as_text(tmp_path):
    """A column named like markup and a category like a script: the info gives them verbatim as JSON (nosniff),
    the page's HTML never holds them, and the page's script writes no HTML from data."""
    name, category = '<img src=x onerror="alert(1)">', "</option><script>alert(2)</script>"
    lines = [f'"{name.replace(chr(34), chr(34) * 2)}",kind,label'] + [
        f"{i % 10},{[category, 'plain'][i % 2]},{'ab'[(i // 3) % 2]}" for i in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    running = RunningServer(load_served(train_table_model(tmp_path / "t.csv", tmp_path / "run", "label", 2)))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
        conn.request("GET", "/api/info")
        response = conn.getresponse()
        info = json.loads(response.read())
        assert response.getheader("Content-Type") == "application/json"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        columns = info["model"]["form"]["columns"]
        assert [c["name"] for c in columns] == [name, "kind"] and category in columns[1]["categories"]
        conn.request("GET", "/form")
        page = conn.getresponse().read()
        assert b"<script>alert" not in page and b"onerror" not in page
        conn.close()
        assert running.call("POST", "/api/table/predict", {name: 3, "kind": category})[0] == 200
    finally:
        running.close()
    script = (STATIC / "form.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_image_models_keep_the_draw_page_and_a_table_model_points_to_the_form(server):
    digits = RunningServer(DrawModel(train_digit_model(hidden=16, epochs=1, samples=500)))
    try:
        info = digits.call("GET", "/api/info")[1]["model"]
        assert info["drawable"] and "form" not in info
        assert digits.call("POST", "/api/predict", as_body(draw_one()))[0] == 200
        status, out = digits.call("POST", "/api/table/predict", _row())
        assert status == 409 and "model of images" in out["error"]
    finally:
        digits.close()
    status, out = server.call("POST", "/api/predict", as_body(draw_one()))
    assert status == 409 and "/api/table/predict" in out["error"]
    assert server.call("GET", "/api/table/predict")[0] == 405
    none = RunningServer(None)
    try:
        status, out = none.call("POST", "/api/table/predict", _row())
        assert status == 409 and "no model" in out["error"]
    finally:
        none.close()


def test_the_medians_and_categories_come_from_the_record_as_they_are():
    from numpynn.serve.form import fields_of

    record = {"columns": [
        {"name": "d", "kind": "datetime", "part": "days", "fill": 19000.0, "center": 0, "factor": 1, "clip": False,
         "indicator": True},
        {"name": "d", "kind": "datetime", "part": "month", "fill": 6.0, "center": 0, "factor": 1, "clip": False,
         "indicator": True},
        {"name": "n", "kind": "numeric", "fill": 1.5, "center": 0, "factor": 1, "clip": False, "indicator": False},
        {"name": "c", "kind": "categorical", "encoding": "embedding", "categories": ["b", "a"], "missing": False,
         "dim": 2},
        {"name": "far", "kind": "datetime", "part": "days", "fill": 1e300, "center": 0, "factor": 1, "clip": False,
         "indicator": False}]}
    d, n, c, far = fields_of(record)
    assert (d.kind, d.median, d.time, d.missing_seen) == ("date", "2022-01-08", False, True)
    assert (n.kind, n.median, n.missing_seen) == ("number", 1.5, False)
    assert (c.kind, c.categories) == ("category", ("b", "a"))
    assert far.median is None
    assert d.describe() == {"name": "d", "kind": "date", "missing_seen": True, "median": "2022-01-08", "time": False}
    assert c.describe() == {"name": "c", "kind": "category", "missing_seen": False, "categories": ["b", "a"]}


def test_the_command_serves_a_table_model_on_its_form_page(penguins_model):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn.cli", "serve", str(penguins_model.parent), "--port", "0",
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "form: http://127.0.0.1:" in line and "Ctrl-C stops" in line, line + proc.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/table/predict", json.dumps(_row()), {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["label"] in ("Adelie", "Chinstrap", "Gentoo")
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in out and "draw page is off" not in err, err
