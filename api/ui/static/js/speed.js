// Download speed over the last hour (one sample a second, from the stream's progress
// events) and each item's progress history, for the header chart and the detail view.

const HOUR = 3600;
const ITEM_POINTS = 600;
const totals = new Float64Array(HOUR); // ring buffer of per-second totals
let head = 0;
let filled = 0;
const speeds = new Map(); // id -> latest downloadSpeed of an item still downloading
const histories = new Map(); // id -> [[ms, progress], ...]

const DOWNLOADING = new Set(["downloading", "warning"]);

export function observe(resource) {
  if (!resource || resource.id === undefined) return;
  if (DOWNLOADING.has(resource.queueState) && resource.downloadSpeed) {
    speeds.set(resource.id, resource.downloadSpeed);
  } else {
    speeds.delete(resource.id);
  }
  let points = histories.get(resource.id);
  if (!points) {
    points = [];
    histories.set(resource.id, points);
  }
  const progress = Number(resource.progress || 0);
  const last = points[points.length - 1];
  if (!last || last[1] !== progress) {
    points.push([Date.now(), progress]);
    if (points.length > ITEM_POINTS) points.splice(0, points.length - ITEM_POINTS);
  }
}

export function forget(id) {
  speeds.delete(id);
  histories.delete(id);
}

export function clearSpeeds() {
  speeds.clear();
}

export const history = (id) => histories.get(id) || [];

export function sample() {
  let total = 0;
  for (const value of speeds.values()) total += value;
  totals[head] = total;
  head = (head + 1) % HOUR;
  filled = Math.min(HOUR, filled + 1);
  return total;
}

// The last hour, oldest first.
export function series() {
  const out = new Array(filled);
  for (let i = 0; i < filled; i += 1) out[i] = totals[(head - filled + i + HOUR) % HOUR];
  return out;
}

const SVG = "http://www.w3.org/2000/svg";

// Draws `values` as an area in `svg` (viewBox width x height), scaled to its maximum.
export function draw(svg, values, span, max = undefined) {
  const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
  const top = max ?? Math.max(1, ...values);
  const step = width / Math.max(1, span - 1);
  const start = span - values.length;
  let path = "";
  values.forEach((v, i) => {
    const x = ((start + i) * step).toFixed(1);
    const y = (height - (v / top) * (height - 2)).toFixed(1);
    path += `${i ? "L" : "M"}${x} ${y}`;
  });
  let line = svg.querySelector("path.line");
  let area = svg.querySelector("path.area");
  if (!line) {
    area = document.createElementNS(SVG, "path");
    area.setAttribute("class", "area");
    line = document.createElementNS(SVG, "path");
    line.setAttribute("class", "line");
    svg.append(area, line);
  }
  line.setAttribute("d", path);
  const x0 = (start * step).toFixed(1);
  area.setAttribute("d", values.length ? `${path}L${width} ${height}L${x0} ${height}Z` : "");
}
