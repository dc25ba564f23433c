// The page's entry point: sign-in, tabs, and wiring the parts together.

import * as api from "./api.js";
import { $, setText, showError } from "./dom.js";
import * as add from "./add.js";
import * as clients from "./clients.js";
import * as detail from "./detail.js";
import * as fmt from "./format.js";
import * as health from "./health.js";
import * as live from "./live.js";
import * as pages from "./pages.js";
import * as queue from "./queue.js";
import * as speed from "./speed.js";

const TABS = {
  queue: () => queue.load(),
  history: () => pages.loadHistory(),
  blocklist: () => pages.loadBlocklist(),
  health: () => Promise.all([health.refresh(), health.loadDisks()]),
  clients: () => clients.load(),
};
let current = "queue";
let sampler = 0;

function selectTab(name, focus = false) {
  current = name;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !on;
  }
  TABS[name]().catch(() => {});
}

function setupTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      e.preventDefault();
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      selectTab(next.id.slice(4), true);
    });
  }
}

async function dispatchState() {
  const { paused } = await api.get("queue/pause");
  const button = $("#dispatch-toggle");
  button.setAttribute("aria-pressed", String(paused));
  setText(button, paused ? "Resume all" : "Pause all");
  button.title = paused ? "Dispatching is paused: nothing new is sent to the clients"
    : "Stop sending new downloads to the clients";
}

function tick() {
  const total = speed.sample();
  setText($("#speed-now"), fmt.speed(total) || "0 B/s");
  if (document.hidden) return;
  // The chart spans what has been seen, from two minutes up to the hour.
  const values = speed.series();
  speed.draw($("#speed-chart"), values, Math.min(3600, Math.max(120, values.length)));
}

async function enter() {
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  $("#top-tools").hidden = false;
  live.connect(leave);
  health.start();
  dispatchState().catch(() => {});
  clearInterval(sampler);
  sampler = setInterval(tick, 1000);
  selectTab(current);
}

function leave() {
  live.disconnect();
  health.stop();
  clearInterval(sampler);
  $("#app").hidden = true;
  $("#top-tools").hidden = true;
  $("#health-banner").hidden = true;
  $("#sign-in").hidden = false;
  $("#api-key").focus();
}

function setupSignIn() {
  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#api-key");
    const error = $("#sign-in-error");
    showError(error, null);
    if (!input.value.trim()) {
      showError(error, new Error("Enter the API key."));
      return;
    }
    try {
      await api.signIn(input.value.trim());
      input.value = "";
      enter();
    } catch (e) {
      showError(error, e);
      input.select();
    }
  });
  $("#sign-out").addEventListener("click", async () => {
    await api.signOut().catch(() => {});
    leave();
  });
  api.whenSignedOut(leave);
}

async function start() {
  setupSignIn();
  setupTabs();
  queue.setup();
  queue.whenDetail((id) => detail.show(id));
  detail.setup();
  add.setup();
  pages.setup();
  clients.setup();
  live.on("status", (status) => {
    queue.setCount(status);
    health.onStatus();
  });
  live.on("item", (type, resource) => detail.onItem(resource));
  $("#dispatch-toggle").addEventListener("click", async () => {
    const paused = $("#dispatch-toggle").getAttribute("aria-pressed") === "true";
    try {
      await api.put(paused ? "queue/resume" : "queue/pause");
    } finally {
      await dispatchState();
      health.refresh();
    }
  });
  try {
    if (await api.signedIn()) enter();
    else leave();
  } catch {
    leave();
  }
}

start();
