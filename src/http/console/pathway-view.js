// The pathway view: what GET /v1/pathways/{id} holds, for the people who own the clinical content:
// the decision graph, the profiles' parameters side by side, the options catalogue with its
// evidence, and the sources with their verification flags.

import { el, fill, badge } from "./dom.js";
import { drawGraph } from "./graph.js";

/** Verification status as a badge; `verified` is the quiet case. */
export function verification(entry) {
  const parts = [];
  if (entry.verification) parts.push(badge(entry.verification, entry.verification === "verified" ? "ok" : "warn"));
  if (entry.extrapolated_from) parts.push(badge(`extrapolated from ${entry.extrapolated_from}`, "warn"));
  return parts;
}

/** Direction of an evidence entry (`for` or `against`), when the service gives one. */
export function direction(entry) {
  if (!entry.direction) return null;
  return badge(entry.direction, entry.direction === "against" ? "bad" : "ok");
}

function sourceLabel(pathway, id) {
  return pathway.sources.find((source) => source.id === id)?.label || id;
}

function optionTitle(pathway, id) {
  return pathway.options.find((option) => option.id === id)?.title || id;
}

/** The rules and outcomes of one node, with buttons to the nodes it leads to. */
function showNode(pathway, node, graph) {
  graph.select(node.id);
  const list = (title, ids, describe) =>
    ids && ids.length
      ? [el("h4", {}, title), el("ul", {}, [...new Set(ids)].map((id) => el("li", {}, describe(id))))]
      : null;
  const offered = (id) => [optionTitle(pathway, id), " ", el("code", {}, id)];
  const next = (node.next || []).map((edge, k) =>
    el("li", {},
      (node.next.length > 1 ? `${k + 1}. ${edge.when || "always"}: ` : "then: "),
      el("button", { type: "button", class: "link", onclick: () => { choose(pathway, edge.to, graph); graph.focusNode(edge.to); } }, edge.to)),
  );
  fill("node-details",
    el("h3", { id: "node-details-heading" }, node.id),
    el("p", {}, node.title),
    list("Rules", node.rules, (id) => id),
    list("Offers", node.offers, offered),
    list("Avoids", node.avoids, offered),
    list("Alerts", node.alerts, (id) => el("code", {}, id)),
    next.length ? [el("h4", {}, "Next"), el("ul", {}, next)] : el("p", {}, "The walk ends here."),
  );
}

function choose(pathway, id, graph) {
  const node = pathway.nodes.find((candidate) => candidate.id === id);
  if (node) showNode(pathway, node, graph);
}

/** Values of one parameter of one profile that apply to `region`. */
function valuesFor(parameter, region) {
  return (parameter.values || []).filter((value) => !value.regions || value.regions.includes(region));
}

function profilesTable(pathway, region) {
  const parameters = [];
  for (const profile of pathway.profiles) {
    for (const parameter of profile.parameters || []) {
      if (!parameters.some((known) => known.id === parameter.id)) parameters.push(parameter);
    }
  }
  const cell = (profile, id) => {
    const parameter = (profile.parameters || []).find((candidate) => candidate.id === id);
    const values = parameter ? valuesFor(parameter, region) : [];
    if (!values.length) return el("td", {}, "not set");
    return el("td", {}, values.map((value) =>
      el("div", { class: "value" },
        el("strong", {}, value.value), " ",
        el("span", { class: "source" }, sourceLabel(pathway, value.source)), " ",
        verification(value),
        value.note ? el("p", { class: "note" }, value.note) : null)));
  };
  const shown = (profile, id) => {
    const parameter = (profile.parameters || []).find((candidate) => candidate.id === id);
    return (parameter ? valuesFor(parameter, region) : []).map((value) => value.value).join(" / ");
  };
  const differs = (id) => new Set(pathway.profiles.map((profile) => shown(profile, id))).size > 1;
  fill("profiles-table",
    el("caption", {}, `Parameters of each profile for the ${region} region`),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "Parameter"),
      pathway.profiles.map((profile) => el("th", { scope: "col" }, profile.label || profile.id, el("br"), el("code", {}, profile.id))))),
    el("tbody", {},
      el("tr", {}, el("th", { scope: "row" }, "In short"), pathway.profiles.map((profile) => el("td", {}, profile.description || ""))),
      parameters.map((parameter) => el("tr", {},
        el("th", { scope: "row" }, parameter.description || parameter.id, el("br"), el("code", {}, parameter.id),
          differs(parameter.id) ? [el("br"), badge("profiles differ", "disagree")] : null),
        pathway.profiles.map((profile) => cell(profile, parameter.id))))),
  );
}

function evidenceList(pathway, entries) {
  return el("ul", { class: "evidence" }, entries.map((entry) =>
    el("li", {}, direction(entry), " ", entry.display, " ",
      el("span", { class: "source" }, sourceLabel(pathway, entry.source)), " ",
      verification(entry),
      entry.note ? el("p", { class: "note" }, entry.note) : null)));
}

function optionsCatalogue(pathway, region) {
  fill("options", pathway.options.map((option) => {
    const forRegion = (option.regions || []).find((entry) => entry.region === region);
    return el("details", { class: "option" },
      el("summary", {}, option.title, " ", badge(option.category, "plain"), " ", el("code", {}, option.id)),
      option.description ? el("p", {}, option.description) : null,
      forRegion
        ? [
            el("h4", {}, `Evidence, ${region}`),
            evidenceList(pathway, forRegion.evidence || []),
            forRegion.codes && forRegion.codes.length
              ? [el("h4", {}, "Codes"), el("ul", {}, forRegion.codes.map((code) =>
                  el("li", {}, el("code", {}, code.code), " ", code.display, code.add_on ? [" ", badge("add-on", "plain")] : null)))]
              : null,
          ]
        : el("p", {}, `Not offered for the ${region} region.`),
      option.criteria && option.criteria.length
        ? [el("h4", {}, "Criteria it depends on"), el("ul", {}, option.criteria.map((id) => el("li", {}, el("code", {}, id))))]
        : null,
    );
  }));
}

function sourcesTable(pathway) {
  const flags = (id) => {
    const counts = {};
    for (const flag of pathway.provenance_flags || []) {
      if (flag.source !== id) continue;
      if (flag.verification && flag.verification !== "verified") counts[flag.verification] = (counts[flag.verification] || 0) + 1;
      if (flag.extrapolated_from) counts.extrapolated = (counts.extrapolated || 0) + 1;
    }
    const parts = Object.entries(counts).map(([kind, n]) => badge(`${n} ${kind}`, "warn"));
    return parts.length ? parts : badge("no flag", "ok");
  };
  fill("sources-table",
    el("caption", {}, "Sources, with how many parameter values or evidence entries citing each are unverified or extrapolated"),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "Source"), el("th", { scope: "col" }, "Reference"), el("th", { scope: "col" }, "Flags"))),
    el("tbody", {}, pathway.sources.map((source) => el("tr", {},
      el("th", { scope: "row" }, source.label || source.id, el("br"), el("code", {}, source.id)),
      el("td", {}, source.url ? el("a", { href: source.url, rel: "noreferrer" }, source.title) : source.title, source.year ? ` (${source.year})` : ""),
      el("td", {}, flags(source.id))))),
  );
}

let centered = false;

/** Once per drawing, when the view is visible: scrolls a graph wider than its frame to its middle,
 * where the start node is. */
export function centerGraph() {
  const frame = document.getElementById("graph");
  if (centered || !frame.clientWidth) return;
  frame.scrollLeft = (frame.scrollWidth - frame.clientWidth) / 2;
  centered = true;
}

/** Renders the whole view for `pathway`, showing region-dependent content for `region`. */
export function renderPathway(pathway, region) {
  document.getElementById("pathway-title").textContent = pathway.title;
  fill("pathway-meta", `${pathway.id}, version ${pathway.version}, `, el("code", {}, pathway.digest));
  fill("pathway-description", pathway.description || "");
  fill("pathway-disclaimer", pathway.disclaimer || "");
  const graph = drawGraph(pathway, (node) => showNode(pathway, node, graph));
  fill("graph", graph);
  centered = false;
  fill("node-details", el("h3", { id: "node-details-heading" }, "Node"), el("p", {}, "No node chosen yet."));
  profilesTable(pathway, region);
  optionsCatalogue(pathway, region);
  sourcesTable(pathway);
}

/** Re-renders only what depends on the region. */
export function renderRegion(pathway, region) {
  profilesTable(pathway, region);
  optionsCatalogue(pathway, region);
}
