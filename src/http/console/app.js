// The console's entry point: loads the pathways, switches between the pathway view and the case
// view from the URL fragment (`#pathway`, `#case`, `#case=<base64url JSON>`), and keeps the
// fragment in sync with the case in the form so it can be shared.

import { call } from "./api.js";
import { el, fill } from "./dom.js";
import { renderPathway, renderRegion, centerGraph } from "./pathway-view.js";
import { setUpCaseView, openCase, readCase, encodeCase, decodeCase } from "./case-view.js";

const state = { list: null, pathway: null, region: null };

function status(text) {
  document.getElementById("status").textContent = text;
}

async function loadPathway(id) {
  state.pathway = await call(`/v1/pathways/${encodeURIComponent(id)}`);
  document.getElementById("pathway-select").value = id;
  const regions = state.pathway.regions || [];
  if (!regions.includes(state.region)) state.region = regions[0];
  fill("region-select", regions.map((region) => el("option", { value: region }, region)));
  document.getElementById("region-select").value = state.region;
  renderPathway(state.pathway, state.region);
  centerGraph();
}

/** The fragment of the case in the form. */
function caseFragment() {
  return `#case=${encodeCase(readCase())}`;
}

function show(view, focus) {
  for (const name of ["pathway", "case"]) {
    document.getElementById(`${name}-view`).hidden = name !== view;
    const link = document.getElementById(`nav-${name}`);
    if (name === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${view === "case" ? "Case" : "Pathway"}: facet-triage console`;
  if (view === "pathway") centerGraph();
  if (focus) {
    const heading = document.getElementById(`${view}-title`);
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

/** Shows what the fragment names; a `#case=` fragment fills the form and answers the case. */
async function route(focus) {
  const hash = location.hash;
  if (hash.startsWith("#case")) {
    show("case", focus);
    if (hash.startsWith("#case=")) {
      let request;
      try {
        request = decodeCase(hash.slice("#case=".length));
      } catch {
        status("The link's case could not be read (it should be base64url of a JSON object).");
        return;
      }
      if (request.pathway && request.pathway !== state.pathway.id) await loadPathway(request.pathway);
      if (hash !== caseFragment() || document.getElementById("results").hidden) await openCase(request);
      document.getElementById("nav-case").setAttribute("href", hash);
    }
  } else if (hash === "" || hash === "#pathway") {
    show("pathway", focus);
  }
}

async function start() {
  setUpCaseView({
    pathway: () => state.pathway,
    pathwayParam: () => (state.pathway.id === state.list.default_pathway ? null : state.pathway.id),
    status,
    changed: () => {
      const fragment = caseFragment();
      history.replaceState(null, "", fragment);
      document.getElementById("nav-case").setAttribute("href", fragment);
    },
  });
  document.getElementById("pathway-select").addEventListener("change", async (event) => {
    await loadPathway(event.target.value);
    if (location.hash.startsWith("#case")) history.replaceState(null, "", caseFragment());
  });
  document.getElementById("region-select").addEventListener("change", (event) => {
    state.region = event.target.value;
    renderRegion(state.pathway, state.region);
  });
  window.addEventListener("hashchange", () => route(true).catch(failed));
  status("Loading the pathways…");
  state.list = await call("/v1/pathways");
  fill("pathway-select", state.list.pathways.map((pathway) => el("option", { value: pathway.id }, pathway.title)));
  await loadPathway(state.list.default_pathway);
  status("");
  await route(false);
}

function failed(error) {
  status(`The console could not load: ${error.message}`);
}

start().catch(failed);
