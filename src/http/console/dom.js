// Small DOM helpers shared by the views: elements are built with `el`, never from HTML strings, so
// text from the service is always text.

/** `el("p", { class: "x", onclick: f }, "text", child)`: attributes, `on*` listeners, children. */
export function el(tag, attributes = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const node = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of the element with id `id`. */
export function fill(id, ...children) {
  const node = typeof id === "string" ? document.getElementById(id) : id;
  node.replaceChildren();
  append(node, children);
  return node;
}

/** `intra_articular_injection` -> `intra-articular injection`-style words for enum values. */
export function words(value) {
  return String(value).replaceAll("_", " ");
}

/** A short badge: visible text, never colour alone. */
export function badge(text, kind) {
  return el("span", { class: `badge badge-${kind || "plain"}` }, text);
}
