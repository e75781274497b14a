// The playground: settings -> a training session on the server; play polls its state and redraws.
"use strict";

const ACTIVATIONS = ["tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "linear"];
const COLORS = { 0: [31, 119, 180], 1: [255, 127, 14] };
const $ = (id) => document.getElementById(id);
let session = null;       // {id, points}
let curves = null;        // every curve point received so far
let latest = null;
let polling = false;
let generation = 0;       // settings changed: replies for an older session are dropped

function layerRow(units, activation) {
  const row = element("div", { class: "row layer-row" });
  const input = element("input", { type: "number", min: 1, max: 32, value: units, "aria-label": "units" });
  const select = element("select", { "aria-label": "activation" });
  for (const name of ACTIVATIONS) select.append(element("option", name === activation ? { selected: "" } : {}, name));
  input.addEventListener("change", reset);
  select.addEventListener("change", reset);
  row.append(input, element("span", { class: "muted" }, "units"), select);
  return row;
}

function settings() {
  const layers = [...document.querySelectorAll(".layer-row")].map((row) => ({
    units: Number(row.querySelector("input").value), activation: row.querySelector("select").value }));
  const batch = $("batch").value;
  return { dataset: $("dataset").value, noise: Number($("noise").value), layers,
           optimizer: $("optimizer").value, lr: Number($("lr").value),
           batch_size: batch === "full" ? null : Number(batch) };
}

async function reset() {
  const mine = ++generation;
  setPlaying(false);
  setBusy(true);  // Play and Step wait for the new session: never act on the one being replaced
  try {
    const created = await api("POST", "/api/train", settings());
    if (mine !== generation) return;
    if (session) api("DELETE", `/api/train/${session.id}`).catch(() => {});
    session = { id: created.id, points: created.points };
    curves = null;
    showError("");
    render(created.state);
  } catch (error) {
    if (mine === generation) showError(error.message);
  } finally {
    if (mine === generation) setBusy(false);
  }
}

function setBusy(on) {
  $("play").disabled = on;
  $("step").disabled = on;
}

function setPlaying(on) {
  $("play").textContent = on ? "Pause" : "Play";
  $("play").dataset.playing = on ? "1" : "";
}

async function togglePlay() {
  if (!session) return;
  const on = !$("play").dataset.playing;
  try {
    const state = await api("POST", `/api/train/${session.id}/${on ? "play" : "pause"}`);
    setPlaying(on);
    render(state);
    if (on) poll();
  } catch (error) {
    showError(error.message);
  }
}

async function poll() {
  if (polling) return;
  polling = true;
  const mine = generation;
  try {
    while (session && $("play").dataset.playing && mine === generation) {
      const since = curves ? curves.epoch.length : 0;
      const state = await api("GET", `/api/train/${session.id}/state?since=${since}`);
      if (mine !== generation) break;
      render(state);
      if (!state.playing) { setPlaying(false); if (state.error) showError(state.error); break; }
      await new Promise((done) => setTimeout(done, 150));
    }
  } catch (error) {
    showError(error.message);
    setPlaying(false);
  } finally {
    polling = false;
  }
}

async function step() {
  if (!session) return;
  try {
    render(await api("POST", `/api/train/${session.id}/step`, { epochs: 10 }));
  } catch (error) {
    showError(error.message);
  }
}

function render(state) {
  if (!curves || state.since === 0) curves = { epoch: [], loss: [], test_loss: [], accuracy: [], test_accuracy: [] };
  if (state.since === curves.epoch.length) {
    for (const key of Object.keys(curves)) curves[key].push(...state.curves[key]);
  }
  latest = state.latest;
  $("epoch").textContent = String(state.epoch);
  $("train-loss").textContent = latest.loss.toFixed(4);
  $("test-loss").textContent = latest.test_loss.toFixed(4);
  $("accuracy").textContent = `${(100 * latest.accuracy).toFixed(1)} %`;
  $("test-accuracy").textContent = `${(100 * latest.test_accuracy).toFixed(1)} %`;
  drawBoundary(state);
  drawCurves();
}

function drawBoundary(state) {
  const canvas = $("boundary");
  const c = canvas.getContext("2d");
  const n = state.grid, extent = state.extent;
  const cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  const cc = cells.getContext("2d");
  const img = cc.createImageData(n, n);
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      const p = state.boundary[r * n + col];
      const rgb = p >= 0.5 ? COLORS[1] : COLORS[0];
      const a = Math.abs(p - 0.5) * 2;  // confident: deep colour; undecided: white
      const pixel = [0, 1, 2].map((i) => Math.round(255 - a * 0.55 * (255 - rgb[i])));
      img.data.set([...pixel, 255], 4 * ((n - 1 - r) * n + col));  // grid row 0 is the bottom (y = -extent)
    }
  }
  cc.putImageData(img, 0, 0);
  c.imageSmoothingEnabled = true;
  c.drawImage(cells, 0, 0, canvas.width, canvas.height);
  const toPx = (x, y) => [(x + extent) / (2 * extent) * canvas.width, (extent - y) / (2 * extent) * canvas.height];
  for (const [part, filled] of [["train", true], ["test", false]]) {
    const pts = session.points[part];
    pts.x.forEach(([x, y], i) => {
      const [px, py] = toPx(x, y);
      c.beginPath();
      c.arc(px, py, 3.5, 0, 2 * Math.PI);
      const [r, g, b] = COLORS[pts.y[i]];
      if (filled) { c.fillStyle = `rgb(${r},${g},${b})`; c.fill(); c.strokeStyle = "#fff"; c.lineWidth = 1; c.stroke(); }
      else { c.strokeStyle = `rgb(${r},${g},${b})`; c.lineWidth = 1.5; c.stroke(); }
    });
  }
}

function drawCurves() {
  const canvas = $("curves");
  const c = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 30;
  c.clearRect(0, 0, w, h);
  const all = curves.loss.concat(curves.test_loss).filter(Number.isFinite);
  const top = Math.max(0.1, ...all) * 1.05;
  const last = Math.max(1, curves.epoch[curves.epoch.length - 1] || 1);
  c.strokeStyle = "#d8dee6"; c.lineWidth = 1;
  c.strokeRect(pad, 5, w - pad - 5, h - pad - 5);
  c.fillStyle = "#5d6b7a"; c.font = "11px sans-serif";
  c.fillText(top.toFixed(2), 2, 14);
  c.fillText("0", 18, h - pad + 4);
  c.fillText(`epoch ${last}`, w - 70, h - 10);
  for (const [key, color] of [["loss", "#1f77b4"], ["test_loss", "#ff7f0e"]]) {
    c.beginPath();
    curves[key].forEach((v, i) => {
      const x = pad + (curves.epoch[i] / last) * (w - pad - 5);
      const y = 5 + (1 - v / top) * (h - pad - 5);
      if (i === 0) c.moveTo(x, y); else c.lineTo(x, y);
    });
    c.strokeStyle = color; c.lineWidth = 1.5; c.stroke();
  }
}

async function start() {
  try {
    const info = await api("GET", "/api/info");
    for (const name of info.playground.optimizers) {
      $("optimizer").append(element("option", name === "adam" ? { selected: "" } : {}, name));
    }
  } catch (error) {
    showError(error.message);
  }
  $("layers").append(layerRow(4, "tanh"));
  $("add-layer").addEventListener("click", () => {
    if (document.querySelectorAll(".layer-row").length < 6) { $("layers").append(layerRow(4, "tanh")); reset(); }
  });
  $("remove-layer").addEventListener("click", () => {
    const rows = document.querySelectorAll(".layer-row");
    if (rows.length) { rows[rows.length - 1].remove(); reset(); }
  });
  $("noise").addEventListener("input", () => { $("noise-value").textContent = Number($("noise").value).toFixed(2); });
  for (const id of ["dataset", "noise", "optimizer", "lr", "batch"]) $(id).addEventListener("change", reset);
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", step);
  $("reset").addEventListener("click", reset);
  await reset();
  document.body.dataset.ready = "1";
}
start();
