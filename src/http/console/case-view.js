// The case view: a form built from the field table (fields.js), the case kept in the URL fragment
// (`#case=` + base64url of the request JSON), the answer of POST /v1/triage/compare as one column
// per profile with the disagreements marked, each column's details from POST /v1/triage under that
// profile, and the walk through the graph (`?trace=true`) for a chosen profile.

import { call, ApiError } from "./api.js";
import { el, fill, badge, words } from "./dom.js";
import { GROUPS, FIELD_NAMES } from "./fields.js";
import { direction, verification } from "./pathway-view.js";
import { drawGraph } from "./graph.js";

/** base64url (no padding) of the UTF-8 JSON of `value`. */
export function encodeCase(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The request of a `#case=` fragment; throws when it is not base64url JSON of an object. */
export function decodeCase(text) {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const value = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
  return value;
}

const idOf = (pointer) => `f${pointer.replaceAll("/", "-")}`;
const errorIdOf = (pointer) => `e${pointer.replaceAll("/", "-")}`;

let context = null;
/** Request members the form has no field for (from a shared link): sent as they are. */
let extra = {};
/** The `profile` of a linked case (a CDS card's request names one): preselected for the walk. */
let preferredProfile = null;

function control(field, pointer) {
  const id = idOf(pointer);
  const describedBy = errorIdOf(pointer);
  const onInput = () => context.changed();
  if (field.type === "enum" || field.type === "boolean") {
    const values = field.type === "boolean" ? [true, false] : field.values;
    const label = (value) => field.type === "boolean" ? (value ? "yes" : "no") : (field.labels?.[value] || words(value));
    return el("select", { id, "data-pointer": pointer, "aria-describedby": describedBy, onchange: onInput },
      el("option", { value: "" }, field.required ? "— choose —" : "— not given —"),
      values.map((value) => el("option", { value: JSON.stringify(value) }, label(value))));
  }
  return el("input", {
    id, type: "text", inputmode: "decimal", autocomplete: "off", "data-pointer": pointer,
    "aria-describedby": describedBy, oninput: onInput,
  });
}

function fieldBlock(field, pointer) {
  const errorSlot = el("p", { class: "field-error", id: errorIdOf(pointer), hidden: true });
  const required = field.required ? [" ", el("span", { class: "required" }, "(required)")] : null;
  if (field.type === "object") {
    return el("fieldset", { class: `field group-${field.kind || "object"}`, "data-field": pointer, "aria-describedby": errorIdOf(pointer) },
      el("legend", {}, field.label, required),
      field.fields.map((inner) => fieldBlock(inner, `${pointer}/${inner.name}`)),
      errorSlot);
  }
  if (field.type === "set") {
    return el("fieldset", { class: "field set", "data-field": pointer, "aria-describedby": errorIdOf(pointer) },
      el("legend", {}, field.label, required),
      field.values.map((value) => {
        const id = `${idOf(pointer)}-${value}`;
        return el("span", { class: "check" },
          el("input", { type: "checkbox", id, value, "data-set": pointer, onchange: () => context.changed() }),
          el("label", { for: id }, words(value)));
      }),
      errorSlot);
  }
  if (field.type === "list") {
    const rows = el("div", { class: "rows", "data-list": pointer });
    const add = el("button", { type: "button", class: "secondary", onclick: () => { addRow(field, pointer, rows); context.changed(); } },
      `Add: ${field.item.toLowerCase()}`);
    return el("fieldset", { class: "field list", "data-field": pointer, "aria-describedby": errorIdOf(pointer) },
      el("legend", {}, field.label, ` (at most ${field.max})`), rows, add, errorSlot);
  }
  return el("div", { class: "field", "data-field": pointer },
    el("label", { for: idOf(pointer) }, field.label, required),
    control(field, pointer),
    errorSlot);
}

function addRow(field, pointer, rows) {
  const index = rows.children.length;
  const rowPointer = `${pointer}/${index}`;
  const row = el("fieldset", { class: "field row", "data-field": rowPointer, "aria-describedby": errorIdOf(rowPointer) },
    el("legend", {}, `${field.item} ${index + 1}`),
    field.fields.map((inner) => fieldBlock(inner, `${rowPointer}/${inner.name}`)),
    el("button", { type: "button", class: "secondary", onclick: () => removeRow(field, pointer, index) },
      `Remove ${field.item.toLowerCase()} ${index + 1}`),
    el("p", { class: "field-error", id: errorIdOf(rowPointer), hidden: true }));
  rows.append(row);
  return row;
}

/** Removes entry `index` of a list; the entries after it move up (their fields are renumbered). */
function removeRow(field, pointer, index) {
  const items = read(field, pointer) || [];
  items.splice(index, 1);
  write(field, pointer, items);
  const rows = document.querySelector(`[data-list="${pointer}"]`);
  // Focus stays in the list: on the entry that moved up, or on the button that adds one.
  (rows.children[index]?.querySelector("select, input") || rows.nextElementSibling)?.focus();
  context.changed();
}

/** The value the form holds for `field`, or undefined when nothing was filled in. */
function read(field, pointer) {
  if (field.type === "object") {
    const value = {};
    for (const inner of field.fields) {
      const innerValue = read(inner, `${pointer}/${inner.name}`);
      if (innerValue !== undefined) value[inner.name] = innerValue;
    }
    return Object.keys(value).length ? value : undefined;
  }
  if (field.type === "set") {
    const checked = [...document.querySelectorAll(`[data-set="${pointer}"]`)].filter((box) => box.checked).map((box) => box.value);
    return checked.length ? checked : undefined;
  }
  if (field.type === "list") {
    const rows = document.querySelector(`[data-list="${pointer}"]`).children;
    const items = [...rows].map((_, index) => read({ type: "object", fields: field.fields }, `${pointer}/${index}`) || {});
    return items.length ? items : undefined;
  }
  const input = document.getElementById(idOf(pointer));
  const text = input.value.trim();
  if (text === "") return undefined;
  if (input.tagName === "SELECT") return JSON.parse(text);
  const number = Number(text);
  // Anything that is not a number is sent as typed, so the service names the field and the rule.
  return Number.isFinite(number) ? number : text;
}

/** Puts `value` into the form's controls for `field`. */
function write(field, pointer, value) {
  if (field.type === "object") {
    for (const inner of field.fields) write(inner, `${pointer}/${inner.name}`, value?.[inner.name]);
    return;
  }
  if (field.type === "set") {
    for (const box of document.querySelectorAll(`[data-set="${pointer}"]`)) box.checked = Array.isArray(value) && value.includes(box.value);
    return;
  }
  if (field.type === "list") {
    const rows = document.querySelector(`[data-list="${pointer}"]`);
    rows.replaceChildren();
    for (const [index, item] of (Array.isArray(value) ? value : []).entries()) {
      addRow(field, pointer, rows);
      write({ type: "object", fields: field.fields }, `${pointer}/${index}`, item);
    }
    return;
  }
  const input = document.getElementById(idOf(pointer));
  if (value === undefined || value === null) input.value = "";
  else if (input.tagName === "SELECT") {
    const option = JSON.stringify(value);
    input.value = [...input.options].some((candidate) => candidate.value === option) ? option : "";
  } else input.value = typeof value === "object" ? JSON.stringify(value) : String(value);
}

const allFields = () => GROUPS.flatMap((group) => group.fields);

/** The request the form describes: the filled-in fields and the members it has no field for. */
export function readCase() {
  const request = { ...extra };
  for (const field of allFields()) {
    const value = read(field, `/${field.name}`);
    if (value !== undefined) request[field.name] = value;
  }
  const pathway = context.pathwayParam();
  if (pathway) request.pathway = pathway;
  return request;
}

function writeCase(request) {
  // The pathway is chosen in the page's header, not in the form; compare answers every profile.
  preferredProfile = typeof request.profile === "string" ? request.profile : null;
  const elsewhere = ["pathway", "profile"];
  extra = Object.fromEntries(Object.entries(request).filter(([name]) => !elsewhere.includes(name) && !FIELD_NAMES.includes(name)));
  for (const field of allFields()) write(field, `/${field.name}`, request[field.name]);
}

function clearErrors() {
  for (const slot of document.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const invalid of document.querySelectorAll("[aria-invalid]")) invalid.removeAttribute("aria-invalid");
  const summary = document.getElementById("form-errors");
  summary.hidden = true;
  summary.replaceChildren();
}

/** Shows each error of a 422 beside the deepest field of the form its JSON Pointer names. */
function showErrors(problem) {
  clearErrors();
  const summary = document.getElementById("form-errors");
  const items = [];
  let first = null;
  for (const error of problem.errors || []) {
    let pointer = error.field || "";
    let block = null;
    while (pointer && !(block = document.querySelector(`[data-field="${CSS.escape(pointer)}"]`))) {
      pointer = pointer.slice(0, pointer.lastIndexOf("/"));
    }
    const where = error.field ? el("code", {}, error.field) : "the request";
    if (block) {
      const slot = document.getElementById(errorIdOf(pointer));
      slot.hidden = false;
      slot.append(el("span", {}, error.field === pointer ? error.message : [where, ": ", error.message]));
      const target = document.getElementById(idOf(pointer)) || block;
      target.setAttribute("aria-invalid", "true");
      first ||= block.querySelector("input, select") || target;
    }
    items.push(el("li", {}, where, ": ", error.message));
  }
  summary.append(el("p", {}, "The service did not accept this case:"), el("ul", {}, items));
  summary.hidden = false;
  first?.focus();
}

function columnFor(pathway, entry, answer, disagreeing) {
  const profile = pathway.profiles.find((candidate) => candidate.id === entry.profile);
  const byId = new Map((answer?.options || []).map((option) => [option.id, option]));
  const avoidById = new Map((answer?.avoid || []).map((avoid) => [avoid.id, avoid]));
  const title = (id) => pathway.options.find((option) => option.id === id)?.title || id;
  const mark = (id) => (disagreeing.has(id) ? badge("guidelines disagree", "disagree") : null);
  const criteria = (option) => option?.criteria?.length
    ? el("ul", { class: "criteria" }, option.criteria.map((criterion) =>
        el("li", { class: `criterion-${criterion.status}` }, badge(criterion.status, criterion.status), " ", criterion.text)))
    : null;
  const evidence = (entries) => entries?.length
    ? el("ul", { class: "evidence" }, entries.map((item) => el("li", {}, direction(item), " ", item.display, " ", verification(item))))
    : null;
  return el("section", { class: "column", "data-profile": entry.profile, "aria-labelledby": `col-${entry.profile}` },
    el("h3", { id: `col-${entry.profile}` }, profile?.label || entry.profile, " ", el("code", {}, entry.profile)),
    el("p", {}, badge(entry.assessment.response, entry.assessment.response), " ", entry.assessment.summary),
    el("h4", {}, "Options"),
    el("ol", { class: "options" }, entry.options.map((id) =>
      el("li", { class: disagreeing.has(id) ? "disagree" : null, "data-option": id },
        el("strong", {}, title(id)), " ", mark(id), el("br"), el("code", {}, id),
        byId.get(id)?.rationale ? el("p", { class: "note" }, byId.get(id).rationale) : null,
        evidence(byId.get(id)?.evidence),
        criteria(byId.get(id))))),
    entry.avoid.length
      ? [el("h4", {}, "Avoid"), el("ul", { class: "avoid" }, entry.avoid.map((id) =>
          el("li", { class: disagreeing.has(id) ? "disagree" : null, "data-avoid": id },
            el("strong", {}, title(id)), " ", mark(id), el("br"), el("code", {}, id),
            avoidById.get(id)?.reason ? el("p", { class: "note" }, avoidById.get(id).reason) : null,
            evidence(avoidById.get(id)?.evidence))))]
      : null,
    el("h4", {}, "Alerts"),
    (answer?.alerts || []).length
      ? el("ul", { class: "alerts" }, answer.alerts.map((alert) =>
          el("li", {}, badge(alert.severity, alert.severity), " ", alert.message, " ", el("code", {}, alert.code))))
      : el("p", {}, entry.alerts.length ? entry.alerts.join(", ") : "None."),
  );
}

function showComparison(pathway, comparison, answers) {
  const disagreeing = new Set(comparison.disagreements.map((item) => item.option));
  const label = (id) => pathway.profiles.find((profile) => profile.id === id)?.label || id;
  const title = (id) => pathway.options.find((option) => option.id === id)?.title || id;
  fill("agreement", comparison.first_option_differs
    ? "The profiles disagree on the first option."
    : "The profiles agree on the first option.");
  fill("disagreements", comparison.disagreements.length
    ? el("table", { class: "disagreements" },
        el("caption", {}, "Options one profile offers and another avoids"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Option"), el("th", { scope: "col" }, "Offered by"), el("th", { scope: "col" }, "Avoided by"))),
        el("tbody", {}, comparison.disagreements.map((item) => el("tr", { "data-option": item.option },
          el("th", { scope: "row" }, title(item.option), el("br"), el("code", {}, item.option)),
          el("td", {}, item.offered_by.map(label).join(", ")),
          el("td", {}, item.avoided_by.map(label).join(", "))))))
    : el("p", {}, "No option is offered by one profile and avoided by another."));
  fill("columns", comparison.profiles.map((entry, index) => columnFor(pathway, entry, answers[index], disagreeing)));
}

async function showTrace() {
  const profile = document.getElementById("trace-profile").value;
  const target = document.getElementById("trace");
  fill(target, el("p", {}, "Walking the graph…"));
  try {
    const answer = await call("/v1/triage?trace=true", { ...readCase(), profile });
    const facts = (object) => Object.entries(object || {}).map(([name, value]) => el("li", {}, el("code", {}, name), ": ", JSON.stringify(value)));
    const walk = (answer.trace || []).map((step) => step.node);
    fill(target,
      el("div", { class: "graph trace-graph", tabindex: 0, role: "region", "aria-label": "The walk on the graph" }, drawGraph(context.pathway(), null, walk)),
      el("ol", { class: "trace" }, (answer.trace || []).map((step) =>
      el("li", { class: step.applied ? "applied" : null },
        el("strong", {}, step.node), " ", step.applied ? badge("applied", "ok") : badge("not applied", "plain"), " ", step.title,
        step.branch ? el("p", {}, "Branch: ", step.branch) : null,
        step.rules?.length ? el("p", {}, "Rules: ", step.rules.join(", ")) : null,
        step.offered?.length ? el("p", {}, "Offered: ", step.offered.join(", ")) : null,
        step.avoided?.length ? el("p", {}, "Avoided: ", step.avoided.join(", ")) : null,
        Object.keys(step.facts || {}).length ? [el("p", {}, "Facts read:"), el("ul", {}, facts(step.facts))] : null,
        Object.keys(step.parameters || {}).length ? [el("p", {}, "Parameters:"), el("ul", {}, facts(step.parameters))] : null,
        step.next ? el("p", {}, "Next: ", el("code", {}, step.next)) : null))));
    // The walk starts in the middle of a graph wider than its frame.
    const frame = target.querySelector(".trace-graph");
    frame.scrollLeft = (frame.scrollWidth - frame.clientWidth) / 2;
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) showErrors(error.problem);
    fill(target, el("p", { class: "problem" }, error.message));
  }
}

/** Sends the case: its errors beside the fields, or every profile's answer side by side. */
async function run() {
  const pathway = context.pathway();
  const request = readCase();
  clearErrors();
  context.status("Asking the service…");
  try {
    // The default profile's answer comes first: when the case is invalid, its errors are the ones shown.
    const first = pathway.default_profile;
    const byProfile = new Map([[first, await call("/v1/triage", { ...request, profile: first })]]);
    const others = pathway.profiles.filter((profile) => profile.id !== first);
    const [comparison, ...answers] = await Promise.all([
      call("/v1/triage/compare", request),
      ...others.map((profile) => call("/v1/triage", { ...request, profile: profile.id })),
    ]);
    others.forEach((profile, index) => byProfile.set(profile.id, answers[index]));
    showComparison(pathway, comparison, comparison.profiles.map((entry) => byProfile.get(entry.profile)));
    fill("trace-profile", pathway.profiles.map((profile) =>
      el("option", { value: profile.id, selected: profile.id === preferredProfile }, profile.label || profile.id)));
    fill("trace");
    document.getElementById("results").hidden = false;
    context.status(`Answered under ${comparison.profiles.length} profiles.`);
  } catch (error) {
    document.getElementById("results").hidden = true;
    if (error instanceof ApiError && error.status === 422 && error.problem) {
      showErrors(error.problem);
      context.status("The service did not accept this case; see the errors beside the fields.");
    } else {
      context.status(`The service could not answer: ${error.message}`);
    }
  }
}

/** Builds the form once. `app` gives the current pathway and reports changes of the case. */
export function setUpCaseView(app) {
  context = app;
  fill("fields", GROUPS.map((group) =>
    el("fieldset", { class: "group" }, el("legend", {}, group.title), group.fields.map((field) => fieldBlock(field, `/${field.name}`)))));
  document.getElementById("case-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  document.getElementById("clear-button").addEventListener("click", () => {
    writeCase({});
    clearErrors();
    document.getElementById("results").hidden = true;
    context.changed();
  });
  document.getElementById("trace-button").addEventListener("click", showTrace);
}

/** Opens `request` (from a `#case=` fragment) in the form and answers it. */
export function openCase(request) {
  writeCase(request);
  return run();
}
