// Health problems (a banner at the top, and the Health tab) and free space per root.

import * as api from "./api.js";
import { $, h, setText } from "./dom.js";
import * as fmt from "./format.js";

const EVERY_MS = 30000;
const KINDS = { error: "Error", warning: "Warning", notice: "Notice" };
let timer = 0;
let last = 0;

export async function refresh() {
  last = Date.now();
  let problems;
  try {
    problems = await api.get("health");
  } catch (error) {
    problems = [{ type: "error", source: "Queuarr", message: `Health unknown: ${error.message}` }];
  }
  const banner = $("#health-banner");
  banner.hidden = problems.length === 0;
  banner.replaceChildren(...problems.map((p) =>
    h("p", { class: p.type }, h("strong", {}, `${KINDS[p.type] || p.type}: `), p.message)));
  const list = $("#health-list");
  list.replaceChildren(...(problems.length ? problems.map((p) =>
    h("li", { class: p.type }, h("strong", {}, p.source || p.type), " ", p.message))
    : [h("li", { class: "ok" }, "No problems.")]));
}

// `status` events come every few seconds; health is read at most every 5 s from them.
export function onStatus() {
  if (Date.now() - last > 5000) refresh();
}

export async function loadDisks() {
  const disks = await api.get("diskspace");
  $("#disk-list").replaceChildren(...disks.map((d) => {
    const used = d.totalSpace ? 100 * (1 - d.freeSpace / d.totalSpace) : 0;
    return h("li", {},
      h("div", { class: "disk-label" }, h("strong", {}, d.label), " ", h("code", {}, d.path)),
      h("div", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": used.toFixed(0), "aria-label": `Space used on ${d.path}` },
      h("div", { class: "fill", style: `width: ${used.toFixed(1)}%` })),
      h("div", { class: "hint" }, `${fmt.bytes(d.freeSpace)} free of ${fmt.bytes(d.totalSpace)}`));
  }));
}

export function start() {
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, EVERY_MS);
}

export function stop() {
  clearInterval(timer);
}
