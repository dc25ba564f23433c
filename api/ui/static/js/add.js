// The Add box: pasted links go as text/plain (one answer per line); dropped or chosen
// .torrent files as multipart torrentFile, .txt files as multipart file.

import * as api from "./api.js";
import { $, h } from "./dom.js";
import * as queue from "./queue.js";

const KEEP = 3; // answers shown, newest first

function lineResult(r) {
  const where = r.line ? `Line ${r.line}` : "";
  const link = r.link || "";
  if (r.result === "queued") return { kind: "queued", text: `${where}: queued as #${r.id}`, link };
  if (r.result === "duplicate") {
    return { kind: "duplicate", link,
      text: `${where}: already queued${r.existingId ? ` as #${r.existingId}` : ""}` };
  }
  return { kind: "refused", text: `${where}: refused: ${r.message || "not a link"}`, link };
}

function show(title, lines) {
  const list = h("ul", {}, lines.map((l) => h("li", { class: `result ${l.kind}` },
    h("span", { class: "what" }, l.text), l.link ? h("code", {}, l.link) : null)));
  const results = $("#add-results");
  results.prepend(h("section", { class: "answer" }, h("h3", {}, title), list));
  while (results.children.length > KEEP) results.lastElementChild.remove();
}

function bulkLines(answer) {
  return (answer.results || []).map(lineResult);
}

function summary(answer) {
  const parts = [`${answer.queued || 0} queued`];
  if (answer.duplicates) parts.push(`${answer.duplicates} already queued`);
  if (answer.refused) parts.push(`${answer.refused} refused`);
  return parts.join(", ");
}

async function sendText(text) {
  const { data } = await api.request("POST", "queue/grab", {
    body: text, headers: { "Content-Type": "text/plain" } });
  show(`Links: ${summary(data)}`, bulkLines(data));
}

async function sendFile(file) {
  const form = new FormData();
  const torrent = file.name.toLowerCase().endsWith(".torrent");
  form.append(torrent ? "torrentFile" : "file", file, file.name);
  const { data } = await api.request("POST", "queue/grab", { body: form });
  if (torrent || !data.results) {
    show(file.name, [{ kind: "queued", text: `queued as #${data.id}`, link: data.title }]);
  } else {
    show(`${file.name}: ${summary(data)}`, bulkLines(data));
  }
}

async function guarded(title, work) {
  try {
    await work();
  } catch (error) {
    const lines = error.body && error.body.results ? bulkLines(error.body)
      : [{ kind: "refused", text: error.message }];
    show(`${title}: refused`, lines);
  }
  queue.reloadSoon();
}

export async function addFiles(files) {
  for (const file of files) await guarded(file.name, () => sendFile(file));
}

export function setup() {
  const form = $("#add-form");
  const text = $("#add-links");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const links = text.value.trim();
    if (!links) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    await guarded("Links", () => sendText(links));
    button.disabled = false;
    text.value = "";
  });
  $("#add-files").addEventListener("change", async (event) => {
    await addFiles([...event.target.files]);
    event.target.value = "";
  });
  // Dropping anywhere on the page adds the files.
  const zone = $("#drop-zone");
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e) || $("#app").hidden) return;
    depth += 1;
    zone.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.hidden = true;
  });
  document.addEventListener("dragover", (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    zone.hidden = true;
    if (!$("#app").hidden) addFiles([...e.dataTransfer.files]);
  });
}
