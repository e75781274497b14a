// The form page: one input per column of the served table model; each change predicts (debounced) through
// /api/table/predict. Names and categories reach the page only as text (textContent, attribute values).
"use strict";

const DEBOUNCE_MS = 150;
let form = null;      // the model's form description from /api/info
let inputs = [];      // one element per column, in the form's order
let timer = null, pending = false, again = false, answered = 0;

function formatNumber(v) {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : "";
}

function fieldFor(column, index) {
  const id = `column-${index}`;
  const label = element("label", { for: id }, column.name);
  let input;
  if (column.kind === "category") {
    input = element("select", { id });
    input.append(element("option", { value: "" }, "(missing)"));
    column.categories.forEach((c, k) => input.append(element("option", { value: String(k + 1) }, c)));
  } else if (column.kind === "date") {
    input = element("input", { id, type: column.time ? "datetime-local" : "date" });
    if (column.median) input.title = `training median ${column.median}`;
  } else {
    input = element("input", { id, type: "number", step: "any", inputmode: "decimal" });
    if (column.median !== null) input.placeholder = formatNumber(column.median);
  }
  const hint = element("span", { class: "muted" }, column.kind === "category"
    ? `${column.categories.length} categor${column.categories.length === 1 ? "y" : "ies"}`
    : (column.median !== null ? `median ${column.kind === "number" ? formatNumber(column.median) : column.median}`
      : column.kind));
  return [label, input, hint];
}

// the row as the API takes it: column name -> value, null for a missing cell; null when an input is unreadable
function currentRow() {
  const row = {};
  for (const [k, column] of form.columns.entries()) {
    const input = inputs[k];
    if (column.kind === "category") {
      row[column.name] = input.selectedIndex > 0 ? column.categories[input.selectedIndex - 1] : null;
    } else if (column.kind === "date") {
      row[column.name] = input.value || null;
    } else {
      if (input.validity.badInput) return null;
      row[column.name] = input.value === "" ? null : Number(input.value);
    }
  }
  return row;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(predict, DEBOUNCE_MS);
}

async function predict() {
  if (pending) { again = true; return; }  // one request at a time; the latest row is sent next
  const row = currentRow();
  if (row === null) { showError("a number field holds something that is not a number"); return; }
  pending = true;
  try {
    const result = await api("POST", "/api/table/predict", row);
    showError("");
    showResult(result);
  } catch (error) {
    showError(error.message);
  } finally {
    pending = false;
    if (again) { again = false; predict(); }
  }
}

function showResult(result) {
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  const prediction = document.getElementById("prediction");
  const confidence = document.getElementById("confidence");
  if (form.task === "regression") {
    prediction.textContent = result.prediction.map(formatNumber).join(", ");
    confidence.textContent = `predicted ${form.outputs.join(", ")}`;
  } else {
    prediction.textContent = result.label;
    confidence.textContent = `probability ${(100 * result.probabilities[result.prediction]).toFixed(1)} %`;
    result.probabilities.forEach((p, k) => {
      const bar = element("div", { class: "bar" + (k === result.prediction ? " best" : "") });
      bar.append(element("span", {}, result.classes[k]));
      const track = element("div", { class: "track" });
      const fill = element("div", { class: "fill" });
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      track.append(fill);
      bar.append(track, element("span", { class: "value" }, `${(100 * p).toFixed(1)} %`));
      bars.append(bar);
    });
  }
  answered += 1;
  document.body.dataset.answered = String(answered);
}

async function start() {
  try {
    const info = await api("GET", "/api/info");
    if (!info.model) { showError("no model is served"); return; }
    if (!info.model.form) {
      showError("the served model was not trained on a table; draw for it on the draw page (/draw)");
      return;
    }
    form = info.model.form;
    document.getElementById("model-name").textContent = `${info.model.name}: ${info.model.layers.join(" · ")}`;
    const fields = document.getElementById("fields");
    inputs = form.columns.map((column, k) => {
      const [label, input, hint] = fieldFor(column, k);
      fields.append(label, input, hint);
      return input;
    });
    if (form.task === "regression") document.getElementById("bars-title").hidden = true;
    const rowForm = document.getElementById("row");
    rowForm.addEventListener("input", schedule);
    rowForm.addEventListener("change", schedule);
    rowForm.addEventListener("submit", (event) => { event.preventDefault(); predict(); });
    document.getElementById("clear").addEventListener("click", () => { rowForm.reset(); predict(); });
    document.body.dataset.ready = "1";
    predict();  // the answer for a row of missing cells, before anything is typed
  } catch (error) {
    showError(error.message);
  }
}
start();
