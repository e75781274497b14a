// What every page shares: calling the JSON API and showing its errors.
"use strict";

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(text) {
  document.getElementById("error").textContent = text || "";
}

function element(tag, attributes, text) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

// a value in [-1, 1] as a colour: blue for negative, white for 0, red for positive
function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  const a = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, a, a] : [a, a, 255];
}
