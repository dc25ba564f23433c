// The queue table: one server page at a time (sort, state filter, title search, paging:
// all done by the server), the selection and the actions on items.

import * as api from "./api.js";
import { $, showError, setText } from "./dom.js";
import { buildRow, updateRow, canPause, canResume } from "./queue-row.js";
import { confirmRemove } from "./remove.js";

const view = {
  page: 1, pageSize: 50, sortKey: "timeleft", sortDirection: "ascending", status: "",
  search: "", totalRecords: 0,
};
const rows = new Map(); // id -> <tr> of the current page
const items = new Map(); // id -> the latest resource of an item on the current page
const selected = new Set();
const pending = new Map(); // id -> resource, applied at the next animation frame
let frame = 0;
let reloadTimer = 0;
let loading = null;
let onDetail = () => {};

export const item = (id) => items.get(id);
export function whenDetail(callback) {
  onDetail = callback;
}

export async function load() {
  const seq = {};
  loading = seq;
  try {
    const data = await api.get("queue", {
      page: view.page, pageSize: view.pageSize, sortKey: view.sortKey,
      sortDirection: view.sortDirection, includeUnknownMovieItems: true,
      status: view.status || undefined, search: view.search.trim() || undefined,
    });
    if (loading !== seq) return; // a newer load is on its way
    const pages = Math.max(1, Math.ceil(data.totalRecords / view.pageSize));
    if (view.page > pages && data.totalRecords > 0) {
      view.page = pages;
      return load();
    }
    view.totalRecords = data.totalRecords;
    render(data.records);
    showError($("#queue-error"), null);
  } catch (error) {
    showError($("#queue-error"), error);
  }
}

function render(records) {
  const body = $("#queue-body");
  const keep = new Set(records.map((r) => r.id));
  for (const id of [...rows.keys()]) {
    if (!keep.has(id)) {
      rows.delete(id);
      items.delete(id);
    }
  }
  for (const id of [...selected]) if (!keep.has(id)) selected.delete(id);
  const fragment = document.createDocumentFragment();
  for (const record of records) {
    items.set(record.id, record);
    let tr = rows.get(record.id);
    if (tr) updateRow(tr, record);
    else {
      tr = buildRow(record, handlers);
      rows.set(record.id, tr);
    }
    tr.refs.select.checked = selected.has(record.id);
    fragment.append(tr);
  }
  body.replaceChildren(fragment);
  pager();
  selectionChanged();
}

function pager() {
  const pages = Math.max(1, Math.ceil(view.totalRecords / view.pageSize));
  setText($("#queue-page"), `Page ${view.page} of ${pages} · ${view.totalRecords} items`);
  $("#queue-prev").disabled = view.page <= 1;
  $("#queue-next").disabled = view.page >= pages;
  $("#queue-empty").hidden = view.totalRecords > 0;
  for (const th of document.querySelectorAll("#queue-table th[data-sort]")) {
    const sorted = th.dataset.sort === view.sortKey;
    if (sorted) th.setAttribute("aria-sort", view.sortDirection);
    else th.removeAttribute("aria-sort");
  }
}

// A changed item from the stream or an action: only its row is touched, at the next frame.
export function apply(resource) {
  if (!rows.has(resource.id)) return false;
  pending.set(resource.id, resource);
  if (!frame) frame = requestAnimationFrame(flush);
  return true;
}

function flush() {
  frame = 0;
  for (const [id, resource] of pending) {
    const tr = rows.get(id);
    if (!tr) continue;
    items.set(id, resource);
    updateRow(tr, resource);
  }
  pending.clear();
}

export function forget(id) {
  const tr = rows.get(id);
  if (tr) tr.remove();
  rows.delete(id);
  items.delete(id);
  pending.delete(id);
  if (selected.delete(id)) selectionChanged();
}

// New or removed items move the page: read it again soon, once for a burst of events.
export function reloadSoon() {
  if (reloadTimer) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = 0;
    load();
  }, 300);
}

function selectionChanged() {
  const n = selected.size;
  setText($("#selection-count"), n ? `${n} selected` : "No item selected");
  for (const b of document.querySelectorAll("[data-bulk]")) b.disabled = n === 0;
  $("#bulk-priority").disabled = n === 0;
  const all = $("#select-all");
  const visible = [...rows.keys()];
  all.checked = visible.length > 0 && visible.every((id) => selected.has(id));
  all.indeterminate = n > 0 && !all.checked;
}

async function act(work) {
  try {
    showError($("#queue-error"), null);
    await work();
  } catch (error) {
    showError($("#queue-error"), error);
  }
}

async function each(ids, call) {
  const errors = [];
  for (const id of ids) {
    try {
      const result = await call(id);
      if (result && result.id === id) apply(result);
    } catch (error) {
      errors.push(`${items.get(id)?.title || id}: ${error.message}`);
    }
  }
  if (errors.length) throw new Error(errors.join("; "));
}

export const actions = {
  pause: (ids) => each(ids, (id) => api.put(`queue/${id}/pause`)),
  resume: (ids) => each(ids, (id) => api.put(`queue/${id}/resume`)),
  priority: (ids, priority) => each(ids, (id) => api.put(`queue/${id}/priority`, { priority })),
  retry: async (ids) => {
    await api.post("queue/retry", { ids });
    reloadSoon();
  },
  grab: async (ids) => {
    const answer = await (ids.length === 1
      ? api.post(`queue/grab/${ids[0]}`) : api.post("queue/grab/bulk", { ids }));
    if (answer && answer.dispatchPaused) throw new Error(answer.message || "Dispatching is paused");
    reloadSoon();
  },
  remove: async (ids) => {
    const titles = ids.map((id) => items.get(id)?.title || `#${id}`);
    const choice = await confirmRemove(titles);
    if (!choice) return;
    const query = { removeFromClient: choice.removeFromClient, blocklist: choice.blocklist };
    if (ids.length === 1) await api.del(`queue/${ids[0]}`, query);
    else await api.del("queue/bulk", query, { ids });
    for (const id of ids) forget(id);
    reloadSoon();
  },
};

const handlers = {
  select(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    selectionChanged();
  },
  detail: (id) => onDetail(id),
  toggle(id) {
    const current = items.get(id);
    if (!current) return;
    if (canResume(current)) act(() => actions.resume([id]));
    else if (canPause(current)) act(() => actions.pause([id]));
  },
  remove: (ids) => act(() => actions.remove(ids)),
};

export function runAction(name, ids, arg) {
  return act(() => actions[name](ids, arg));
}

export function setup() {
  $("#queue-prev").addEventListener("click", () => {
    view.page = Math.max(1, view.page - 1);
    load();
  });
  $("#queue-next").addEventListener("click", () => {
    view.page += 1;
    load();
  });
  $("#state-filter").addEventListener("change", (e) => {
    view.status = e.target.value;
    view.page = 1;
    load();
  });
  $("#page-size").addEventListener("change", (e) => {
    view.pageSize = Number(e.target.value);
    view.page = 1;
    load();
  });
  view.pageSize = Number($("#page-size").value);
  let typing = 0;  // the server searches every page: ask once typing pauses
  $("#search").addEventListener("input", (e) => {
    view.search = e.target.value;
    clearTimeout(typing);
    typing = setTimeout(() => { view.page = 1; load(); }, 250);
  });
  for (const th of document.querySelectorAll("#queue-table th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.sort;
      if (view.sortKey === key) {
        view.sortDirection = view.sortDirection === "ascending" ? "descending" : "ascending";
      } else {
        view.sortKey = key;
        view.sortDirection = key === "progress" || key === "size" ? "descending" : "ascending";
      }
      load();
    });
  }
  $("#select-all").addEventListener("change", (e) => {
    for (const [id, tr] of rows) {
      if (tr.hidden) continue;
      if (e.target.checked) selected.add(id);
      else selected.delete(id);
      tr.refs.select.checked = e.target.checked;
    }
    selectionChanged();
  });
  for (const button of document.querySelectorAll("[data-bulk]")) {
    button.addEventListener("click", () => runAction(button.dataset.bulk, [...selected]));
  }
  $("#bulk-priority").addEventListener("change", (e) => {
    const priority = e.target.value;
    e.target.value = "";
    if (priority) runAction("priority", [...selected], priority);
  });
}

export function setCount(status) {
  setText($("#queue-count"), status && status.totalCount ? `(${status.totalCount})` : "");
}


export const isFiltered = () => Boolean(view.status);
