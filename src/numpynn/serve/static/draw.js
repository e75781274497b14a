// The draw page: strokes on a canvas (pointer events), sent to /api/predict as greyscale pixels.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const strokes = [];  // each stroke is a list of [x, y] points: undo drops the last one and redraws
let current = null;
let classNames = [];
let pending = false, again = false, lastSent = 0;

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = 18;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) {
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

function point(event) {
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * pad.width / r.width, (event.clientY - r.top) * pad.height / r.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  current = [point(event)];
  strokes.push(current);
  redraw();
});
pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  current.push(point(event));
  redraw();
  if (performance.now() - lastSent > 150) predict();
});
function endStroke() {
  if (!current) return;
  current = null;
  predict();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => {
  strokes.length = 0;
  redraw();
  showResult(null);
});
document.getElementById("undo").addEventListener("click", () => {
  strokes.pop();
  redraw();
  if (strokes.length) predict(); else showResult(null);
});

function pixels() {
  // the red channel as greyscale bytes, base64-encoded
  const data = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const grey = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < grey.length; i++) grey[i] = data[4 * i];
  let text = "";
  for (let i = 0; i < grey.length; i += 8192) text += String.fromCharCode.apply(null, grey.subarray(i, i + 8192));
  return btoa(text);
}

async function predict() {
  if (!strokes.length) return;
  if (pending) { again = true; return; }  // one request at a time; the latest drawing is sent next
  pending = true;
  lastSent = performance.now();
  try {
    const result = await api("POST", "/api/predict", { width: pad.width, height: pad.height, pixels: pixels() });
    showError("");
    if (strokes.length) showResult(result);
  } catch (error) {
    showError(error.message);
  } finally {
    pending = false;
    if (again) { again = false; predict(); }
  }
}

function showResult(result) {
  const bars = document.getElementById("bars");
  const hidden = document.getElementById("hidden");
  const units = document.getElementById("units");
  bars.replaceChildren(); hidden.replaceChildren(); units.replaceChildren();
  const view = document.getElementById("input-view").getContext("2d");
  view.clearRect(0, 0, 28, 28);
  document.getElementById("prediction").textContent = "";
  document.getElementById("confidence").textContent = "";
  const probabilities = result ? result.probabilities : classNames.map(() => 0);
  probabilities.forEach((p, k) => {
    const row = element("div", { class: "bar" + (result && k === result.prediction ? " best" : "") });
    row.append(element("span", {}, classNames[k] ?? String(k)));
    const track = element("div", { class: "track" });
    const fill = element("div", { class: "fill" });
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    track.append(fill);
    row.append(track, element("span", { class: "value" }, `${(100 * p).toFixed(1)} %`));
    bars.append(row);
  });
  if (!result) { hidden.append(element("p", { class: "muted" }, "draw something")); return; }
  document.getElementById("prediction").textContent = result.label;
  document.getElementById("confidence").textContent =
    `probability ${(100 * result.probabilities[result.prediction]).toFixed(1)} %`;
  const image = view.createImageData(28, 28);
  result.input.flat().forEach((v, i) => { image.data.set([v, v, v, 255], 4 * i); });
  view.putImageData(image, 0, 0);
  for (const layer of result.hidden) {
    const box = element("div", { class: "layer" });
    box.append(element("div", { class: "muted" }, layer.name));
    const cells = element("div", { class: "cells" });
    const top = Math.max(...layer.values.map(Math.abs)) || 1;
    for (const v of layer.values) {
      const [r, g, b] = diverging(v / top);
      const cell = element("span", { title: v.toFixed(3) });
      cell.style.background = `rgb(${r},${g},${b})`;
      cells.append(cell);
    }
    box.append(cells);
    hidden.append(box);
  }
  for (const unit of result.top_units) {
    const figure = element("figure");
    const canvas = element("canvas", { class: "pixels", width: 28, height: 28 });
    canvas.style.width = "56px"; canvas.style.height = "56px";
    const c = canvas.getContext("2d");
    const img = c.createImageData(28, 28);
    unit.weights.forEach((w, i) => { img.data.set([...diverging(w), 255], 4 * i); });
    c.putImageData(img, 0, 0);
    figure.append(canvas, element("figcaption", {}, `unit ${unit.unit}: ${unit.activation.toFixed(2)}`));
    units.append(figure);
  }
}

async function start() {
  redraw();
  try {
    const info = await api("GET", "/api/info");
    if (!info.model) { showError("no model is served"); return; }
    classNames = info.model.class_names;
    document.getElementById("model-name").textContent =
      `${info.model.name}: ${info.model.layers.join(" · ")}`;
    if (!info.model.drawable) showError(`this model cannot read drawings: ${info.model.reason}`);
    showResult(null);
  } catch (error) {
    showError(error.message);
  }
}
start();
