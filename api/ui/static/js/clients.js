// Download clients: list, test, add, edit and remove /api/v3/downloadclient resources,
// with forms built from the schema templates. Secrets come back as "********" and are
// sent back unchanged, which keeps them.

import * as api from "./api.js";
import { $, h, cell, showError } from "./dom.js";
import * as health from "./health.js";

let templates = [];
let editing = null; // the resource being edited (a copy)

export async function load() {
  try {
    const [clients, schema] = await Promise.all([api.get("downloadclient"),
      templates.length ? templates : api.get("downloadclient/schema")]);
    templates = schema;
    const kind = $("#client-kind");
    if (kind.options.length === 1) {
      kind.append(...templates.map((t) => h("option", { value: t.implementation },
        t.implementationName)));
    }
    $("#clients-body").replaceChildren(...clients.map(row));
    showError($("#clients-error"), null);
  } catch (error) {
    showError($("#clients-error"), error);
  }
}

function row(client) {
  const readOnly = Boolean(client.message);
  return h("tr", {},
    cell("Name", client.name),
    cell("Kind", client.implementationName),
    cell("Enabled", client.enable ? "Yes" : "No"),
    cell("Priority", client.priority),
    cell("Note", client.message?.message || ""),
    cell("Actions", h("div", { class: "actions" },
      h("button", { type: "button", class: "small", "aria-label": `Test ${client.name}`,
        onclick: () => test(client, null) }, "Test"),
      h("button", { type: "button", class: "small", disabled: readOnly,
        "aria-label": `Edit ${client.name}`, onclick: () => open(client) }, "Edit"),
      h("button", { type: "button", class: "small danger", disabled: readOnly,
        "aria-label": `Remove ${client.name}`, onclick: () => remove(client) }, "Remove"))));
}

async function test(resource, report) {
  const out = report || $("#clients-error");
  try {
    await api.post("downloadclient/test", resource);
    if (report) {
      $("#client-ok").textContent = "The client answered.";
      showError(report, null);
    } else {
      out.textContent = `${resource.name} answered.`;
    }
  } catch (error) {
    if (report) {
      $("#client-ok").textContent = "";
      out.textContent = error.message;
    } else {
      out.textContent = `${resource.name}: ${error.message}`;
    }
  }
}

async function remove(client) {
  if (!confirm(`Remove the download client ${client.name}?`)) return;
  try {
    await api.del(`downloadclient/${client.id}`);
    load();
    health.refresh();
  } catch (error) {
    showError($("#clients-error"), error);
  }
}

function input(id, field) {
  const common = { id, name: field.name };
  if (field.type === "checkbox") return h("input", { ...common, type: "checkbox", checked: Boolean(field.value) });
  if (field.type === "select") {
    return h("select", common, (field.selectOptions || []).map((o) =>
      h("option", { value: String(o.value), selected: o.value === field.value }, o.name)));
  }
  const type = field.type === "password" ? "password" : field.type === "number" ? "number" : "text";
  return h("input", { ...common, type, value: field.value ?? "", autocomplete: "off" });
}

function fieldRow(id, label, control, help) {
  const wrap = h("div", { class: control.type === "checkbox" ? "field check" : "field" });
  if (control.type === "checkbox") wrap.append(control, h("label", { for: id }, label));
  else wrap.append(h("label", { for: id }, label), control);
  if (help) wrap.append(h("small", { class: "hint" }, help));
  return wrap;
}

function open(resource) {
  editing = structuredClone(resource);
  $("#client-title").textContent = resource.id ? `Edit ${resource.name}` : `Add ${resource.implementationName}`;
  const controls = [
    fieldRow("client-name", "Name", h("input", { id: "client-name", value: resource.name || "", required: true })),
    fieldRow("client-enable", "Enabled", h("input", { id: "client-enable", type: "checkbox", checked: resource.enable !== false })),
    fieldRow("client-priority", "Client priority (1 is first)", h("input", { id: "client-priority", type: "number", min: 1, max: 50, value: resource.priority || 1 })),
    ...resource.fields.map((f, i) => fieldRow(`client-field-${i}`, f.label || f.name,
      input(`client-field-${i}`, f), f.helpText)),
  ];
  $("#client-fields").replaceChildren(...controls);
  showError($("#client-error"), null);
  $("#client-ok").textContent = "";
  $("#client-dialog").showModal();
}

function collect() {
  const resource = structuredClone(editing);
  resource.name = $("#client-name").value.trim();
  resource.enable = $("#client-enable").checked;
  resource.priority = Number($("#client-priority").value || 1);
  resource.fields = resource.fields.map((f, i) => {
    const control = $(`#client-field-${i}`);
    let value;
    if (f.type === "checkbox") value = control.checked;
    else if (f.type === "number") value = control.value === "" ? null : Number(control.value);
    else if (f.type === "select") {
      const option = (f.selectOptions || []).find((o) => String(o.value) === control.value);
      value = option ? option.value : control.value;
    } else value = control.value;
    return { ...f, value };
  });
  return resource;
}

export function setup() {
  $("#client-kind").addEventListener("change", (e) => {
    const template = templates.find((t) => t.implementation === e.target.value);
    e.target.value = "";
    if (template) open({ ...structuredClone(template), name: template.implementationName, id: 0 });
  });
  $("#client-test").addEventListener("click", () => test(collect(), $("#client-error")));
  $("#client-cancel").addEventListener("click", () => $("#client-dialog").close());
  $("#client-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const resource = collect();
    try {
      if (resource.id) await api.put(`downloadclient/${resource.id}`, resource);
      else await api.post("downloadclient", resource);
      $("#client-dialog").close();
      load();
      health.refresh();
    } catch (error) {
      showError($("#client-error"), error);
    }
  });
}
