// The History and Blocklist tabs: server pages of Radarr's resources.

import * as api from "./api.js";
import { $, h, cell, setText } from "./dom.js";
import * as fmt from "./format.js";

const PAGE_SIZE = 50;

function pagedTable(name, path, row, query = {}) {
  const state = { page: 1, total: 0 };
  async function load() {
    const data = await api.get(path, { page: state.page, pageSize: PAGE_SIZE, ...query });
    state.total = data.totalRecords;
    const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
    $(`#${name}-body`).replaceChildren(...data.records.map((r) => row(r, load)));
    setText($(`#${name}-page`), `Page ${state.page} of ${pages} · ${state.total}`);
    $(`#${name}-prev`).disabled = state.page <= 1;
    $(`#${name}-next`).disabled = state.page >= pages;
    const empty = $(`#${name}-empty`);
    if (empty) empty.hidden = state.total > 0;
  }
  $(`#${name}-prev`).addEventListener("click", () => {
    state.page = Math.max(1, state.page - 1);
    load();
  });
  $(`#${name}-next`).addEventListener("click", () => {
    state.page += 1;
    load();
  });
  return load;
}

function historyRow(r) {
  return h("tr", {},
    cell("Date", fmt.date(r.date)),
    cell("Event", r.eventType),
    cell("Title", r.sourceTitle),
    cell("Message", r.data?.message || ""));
}

function blocklistRow(r, reload) {
  const remove = h("button", { type: "button", class: "small",
    "aria-label": `Remove ${r.sourceTitle} from the blocklist`,
    onclick: async () => {
      await api.del(`blocklist/${r.id}`);
      reload();
    } }, "Unblock");
  return h("tr", {},
    cell("Date", fmt.date(r.date)),
    cell("Title", r.sourceTitle),
    cell("Protocol", r.protocol),
    cell("Message", r.message || ""),
    cell("Actions", remove));
}

export const loadHistory = () => history();
export const loadBlocklist = () => blocklist();
let history = async () => {};
let blocklist = async () => {};

export function setup() {
  history = pagedTable("history", "history", historyRow,
    { sortKey: "date", sortDirection: "descending" });
  blocklist = pagedTable("blocklist", "blocklist", blocklistRow,
    { sortKey: "date", sortDirection: "descending" });
}
