// One queue item's row: built once, then only its changed cells are touched.

import { h, cell, setText } from "./dom.js";
import * as fmt from "./format.js";

const STATE_NAMES = {
  queued: "Queued", sending: "Sending", downloading: "Downloading", paused: "Paused",
  retrying: "Retrying", clientUnavailable: "Client unavailable", warning: "Warning",
  completed: "Completed", failed: "Failed",
};
const PRIORITY_NAMES = { low: "Low", normal: "Normal", high: "High", veryHigh: "Very high" };
const PAUSABLE = new Set(["queued", "sending", "downloading", "retrying", "warning",
  "clientUnavailable"]);

export const stateName = (state) => STATE_NAMES[state] || state || "";
export const priorityName = (p) => PRIORITY_NAMES[p] || p || "";
export const canPause = (item) => PAUSABLE.has(item.queueState);
export const canResume = (item) => item.queueState === "paused";

export function messages(item) {
  const out = [];
  if (item.errorMessage) out.push(item.errorMessage);
  for (const group of item.statusMessages || []) {
    for (const m of group.messages || []) out.push(group.title ? `${group.title}: ${m}` : m);
  }
  return out;
}

export function buildRow(item, handlers) {
  const select = h("input", { type: "checkbox", "aria-label": `Select ${item.title}` });
  select.addEventListener("change", () => handlers.select(item.id, select.checked));
  const title = h("button", { type: "button", class: "link title",
    onclick: () => handlers.detail(item.id) });
  const note = h("div", { class: "messages" });
  const state = h("span", { class: "state" });
  const fill = h("div", { class: "fill" });
  const bar = h("div", { class: "bar", role: "progressbar", "aria-valuemin": "0",
    "aria-valuemax": "100" }, fill);
  const pct = h("span", { class: "pct" });
  const toggle = h("button", { type: "button", class: "small",
    onclick: () => handlers.toggle(item.id) });
  const remove = h("button", { type: "button", class: "small danger",
    onclick: () => handlers.remove([item.id]) }, "Remove");
  const refs = {
    select, title, note, state, bar, fill, pct, toggle, remove,
    speed: cell("Speed"), eta: cell("ETA"), size: cell("Size"), client: cell("Client"),
    priority: cell("Priority"),
  };
  const tr = h("tr", { "data-id": String(item.id) },
    h("td", { class: "pick" }, select),
    cell("Title", title, note),
    cell("State", state),
    cell("Progress", h("div", { class: "progress" }, bar, pct)),
    refs.speed, refs.eta, refs.size, refs.client, refs.priority,
    cell("Actions", h("div", { class: "actions" }, toggle, remove)));
  tr.refs = refs;
  tr.shown = {};
  updateRow(tr, item);
  return tr;
}

// Writes only what differs from what the row shows, so a progress event costs a few
// property writes and no layout of the other rows.
export function updateRow(tr, item) {
  const r = tr.refs;
  const shown = tr.shown;
  const progress = Math.max(0, Math.min(100, Number(item.progress || 0)));
  const values = {
    title: item.title, state: item.queueState, progress, pct: fmt.percent(progress),
    speed: item.queueState === "downloading" || item.queueState === "warning"
      ? fmt.speed(item.downloadSpeed) : "",
    eta: fmt.timeleft(item.timeleft), size: fmt.bytes(item.size),
    client: item.downloadClient || "", priority: priorityName(item.priority),
    note: messages(item).join(" · "),
    toggle: canResume(item) ? "Resume" : "Pause",
    pausable: canPause(item) || canResume(item),
  };
  if (shown.title !== values.title) {
    setText(r.title, values.title);
    r.select.setAttribute("aria-label", `Select ${values.title}`);
    r.bar.setAttribute("aria-label", `Progress of ${values.title}`);
    r.remove.setAttribute("aria-label", `Remove ${values.title}`);
  }
  if (shown.state !== values.state) {
    setText(r.state, stateName(values.state));
    r.state.dataset.state = values.state;
    tr.dataset.state = values.state;
  }
  if (shown.progress !== values.progress) {
    r.fill.style.width = `${values.progress}%`;
    r.bar.setAttribute("aria-valuenow", String(values.progress));
    setText(r.pct, values.pct);
  }
  if (shown.speed !== values.speed) setText(r.speed, values.speed);
  if (shown.eta !== values.eta) setText(r.eta, values.eta);
  if (shown.size !== values.size) setText(r.size, values.size);
  if (shown.client !== values.client) setText(r.client, values.client);
  if (shown.priority !== values.priority) setText(r.priority, values.priority);
  if (shown.note !== values.note) setText(r.note, values.note);
  if (shown.toggle !== values.toggle || shown.title !== values.title) {
    setText(r.toggle, values.toggle);
    r.toggle.setAttribute("aria-label", `${values.toggle} ${values.title}`);
  }
  if (shown.pausable !== values.pausable) r.toggle.disabled = !values.pausable;
  tr.shown = values;
}
