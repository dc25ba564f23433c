// The queue live from /api/v3/queue/stream: each event updates its item's row only;
// `reset` reloads the page of items; `status` carries the counts.

import * as api from "./api.js";
import { $, setText } from "./dom.js";
import * as queue from "./queue.js";
import * as speed from "./speed.js";

const ITEM_EVENTS = ["grabbed", "sent", "progress", "paused", "resumed", "completed",
  "retryScheduled", "failed", "stalled", "removed", "clientUnavailable", "clientBack"];

const RETRY_MS = 5000;
let source = null;
let wanted = false;
let signedOut = () => {};
const listeners = { status: [], item: [] };

export function on(kind, callback) {
  listeners[kind].push(callback);
}

function itemEvent(type, message) {
  let data;
  try {
    data = JSON.parse(message.data);
  } catch {
    return;
  }
  const resource = data.queueItem;
  if (!resource) return;
  speed.observe(resource);
  if (type === "removed") {
    queue.forget(resource.id);
    speed.forget(resource.id);
    queue.reloadSoon();
  } else {
    queue.apply(resource);
    // A new item, or a state change under a state filter, moves the page's membership.
    if (type === "grabbed" || (type !== "progress" && queue.isFiltered())) queue.reloadSoon();
  }
  for (const callback of listeners.item) callback(type, resource, data);
}

export function connect(onSignedOut = signedOut) {
  if (source) return;
  wanted = true;
  signedOut = onSignedOut;
  const es = new EventSource(`${api.API}queue/stream`, { withCredentials: true });
  source = es;
  const live = $("#live");
  es.addEventListener("open", () => {
    setText(live, "live");
    live.dataset.state = "open";
  });
  es.addEventListener("error", () => {
    setText(live, "reconnecting…");
    live.dataset.state = "error";
    // EventSource retries by itself after a dropped connection, but gives up on an
    // answer that is not a stream (a 401 once the session is gone, a 503): start again
    // later, or sign out if the session has ended.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null;
      setTimeout(async () => {
        if (!wanted) return;
        if (await api.signedIn().catch(() => true)) {
          connect();
          queue.load();
        } else {
          signedOut();
        }
      }, RETRY_MS);
    }
  });
  for (const type of ITEM_EVENTS) {
    es.addEventListener(type, (message) => itemEvent(type, message));
  }
  es.addEventListener("status", (message) => {
    const status = JSON.parse(message.data);
    for (const callback of listeners.status) callback(status);
  });
  es.addEventListener("reset", () => {
    speed.clearSpeeds();
    queue.load();
  });
}

export function disconnect() {
  wanted = false;
  const closing = source;
  source = null;
  if (closing) closing.close();
}
