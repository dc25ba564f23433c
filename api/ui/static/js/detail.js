// An item's detail view: its fields, its progress history and every action on it.

import { $, h } from "./dom.js";
import * as fmt from "./format.js";
import * as queue from "./queue.js";
import { messages, priorityName, stateName, canPause, canResume } from "./queue-row.js";
import * as speed from "./speed.js";

const SVG = "http://www.w3.org/2000/svg";
let shownId = null;

function chart(id) {
  const points = speed.history(id);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 300 60");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("class", "history-chart");
  svg.setAttribute("aria-label", points.length
    ? `Progress over time: ${points.length} readings, now ${fmt.percent(points.at(-1)[1])}`
    : "No progress seen yet in this page");
  if (points.length) {
    // Place the readings by time, over the span they cover.
    const t0 = points[0][0];
    const span = Math.max(1, points.at(-1)[0] - t0);
    const values = [];
    const slots = 120;
    let j = 0;
    for (let s = 0; s < slots; s += 1) {
      const t = t0 + (span * s) / (slots - 1);
      while (j + 1 < points.length && points[j + 1][0] <= t) j += 1;
      values.push(points[j][1]);
    }
    speed.draw(svg, values, slots, 100);
  }
  return svg;
}

function render(item, full = true) {
  const rows = [
    ["State", stateName(item.queueState)], ["Progress", fmt.percent(item.progress)],
    ["Size", fmt.bytes(item.size)], ["Left", fmt.bytes(item.sizeleft)],
    ["Speed", fmt.speed(item.downloadSpeed)], ["ETA", fmt.timeleft(item.timeleft)],
    ["Priority", priorityName(item.priority)], ["Client", item.downloadClient],
    ["Indexer", item.indexer], ["Protocol", item.protocol], ["Source", item.source],
    ["Download id", item.downloadId], ["Added", fmt.date(item.added)],
    ["Attempts", item.attempts], ["Next attempt", fmt.date(item.nextAttemptAt)],
    ["Saved to", item.outputPath], ["Messages", messages(item).join(" · ")],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  const ids = [item.id];
  const allowed = {
    pause: canPause(item), resume: canResume(item), retry: item.queueState === "failed",
    grab: ["queued", "retrying"].includes(item.queueState),
  };
  const button = (label, name, enabled = true) => h("button", { type: "button",
    disabled: !enabled, "data-action": name, onclick: async () => {
      await queue.runAction(name, ids);
      refresh();
    } }, label);
  const priority = h("select", { id: "detail-priority", onchange: async (e) => {
    await queue.runAction("priority", ids, e.target.value);
    refresh();
  } }, ["low", "normal", "high", "veryHigh"].map((p) =>
    h("option", { value: p, selected: p === item.priority }, priorityName(p))));
  const figure = h("figure", { id: "detail-chart" }, chart(item.id),
    h("figcaption", {}, "Progress history"));
  const facts = h("dl", { class: "facts", id: "detail-facts" },
    rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  if (!full) {
    // Live updates leave the buttons alone, so that keyboard focus stays where it is.
    $("#detail-chart").replaceWith(figure);
    $("#detail-facts").replaceWith(facts);
    for (const b of $("#detail-body").querySelectorAll("button[data-action]")) {
      b.disabled = !allowed[b.dataset.action];
    }
    return;
  }
  $("#detail-title").textContent = item.title;
  $("#detail-body").replaceChildren(figure, facts,
    h("div", { class: "row" },
      button("Pause", "pause", allowed.pause), button("Resume", "resume", allowed.resume),
      button("Retry", "retry", allowed.retry), button("Force grab", "grab", allowed.grab),
      h("label", { for: "detail-priority" }, "Priority"), priority,
      h("button", { type: "button", class: "danger", onclick: async () => {
        await queue.runAction("remove", ids);
        if (!queue.item(item.id)) $("#detail-dialog").close();
      } }, "Remove")));
}

function refresh() {
  const item = shownId === null ? null : queue.item(shownId);
  if (item) render(item);
}

export function show(id) {
  const item = queue.item(id);
  if (!item) return;
  shownId = id;
  render(item);
  const dialog = $("#detail-dialog");
  if (!dialog.open) dialog.showModal();
}

// Called on each item event: redraw when it is the item shown (at most once a second).
let lastDraw = 0;
export function onItem(resource) {
  if (resource.id !== shownId || !$("#detail-dialog").open) return;
  if (Date.now() - lastDraw < 1000) return;
  lastDraw = Date.now();
  render(resource, false);
}

export function setup() {
  $("#detail-dialog").addEventListener("close", () => {
    shownId = null;
  });
}
