// The decision graph drawn as SVG in the page, from the nodes of GET /v1/pathways/{id}: nodes in
// layers by their longest distance from the start, ordered in each layer to keep edges short, each
// node a focusable button that opens its rules and outcomes.

import { el } from "./dom.js";

const WIDTH = 220;
const LINE = 15;
const HEIGHT = 4 * LINE + 12;
const GAP_X = 28;
const GAP_Y = 46;
const MARGIN = 12;
const CHARS = 31;

/** Layer of each node: the longest path to it from `start`, ignoring edges that close a cycle. */
function layers(nodes, start) {
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const out = nodes.map((node) => (node.next || []).map((edge) => index.get(edge.to)).filter((i) => i !== undefined));
  const order = [];
  const state = new Array(nodes.length).fill(0);
  const back = new Set();
  const visit = (i) => {
    state[i] = 1;
    for (const j of out[i]) {
      if (state[j] === 1) back.add(`${i}>${j}`);
      else if (state[j] === 0) visit(j);
    }
    state[i] = 2;
    order.push(i);
  };
  const first = index.get(start) ?? 0;
  visit(first);
  nodes.forEach((_, i) => state[i] === 0 && visit(i));
  order.reverse();
  const layer = new Array(nodes.length).fill(0);
  for (const i of order) {
    for (const j of out[i]) {
      if (!back.has(`${i}>${j}`)) layer[j] = Math.max(layer[j], layer[i] + 1);
    }
  }
  return { layer, out, index };
}

/** Splits `text` into at most `lines` lines of about CHARS characters. */
function wrap(text, lines) {
  const result = [];
  let line = "";
  for (const word of String(text).split(/\s+/)) {
    if (line && (line + " " + word).length > CHARS) {
      result.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) result.push(line);
  if (result.length > lines) {
    result.length = lines;
    result[lines - 1] = result[lines - 1].slice(0, CHARS - 1) + "…";
  }
  return result;
}

let drawings = 0;

/**
 * Draws the graph. With `onChoose`, each node is a button and `onChoose(node)` runs when it is
 * clicked or activated with Enter or Space; without it the drawing is one image. `walk` (node ids in
 * visiting order) marks a walk through the graph. Returns the SVG element; `select(id)` on it marks
 * one node as chosen.
 */
export function drawGraph(pathway, onChoose, walk = []) {
  const nodes = pathway.nodes;
  const { layer, out, index } = layers(nodes, pathway.start);
  const rows = [];
  nodes.forEach((_, i) => (rows[layer[i]] ||= []).push(i));
  const position = new Array(nodes.length).fill(0);
  rows.forEach((row) => row.forEach((i, k) => (position[i] = k)));
  const parents = nodes.map(() => []);
  out.forEach((targets, i) => targets.forEach((j) => parents[j].push(i)));
  // A few sweeps placing each node under the mean position of its parents.
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const row of rows.slice(1)) {
      const key = (i) => {
        const above = parents[i].filter((p) => layer[p] < layer[i]);
        return above.length ? above.reduce((sum, p) => sum + position[p], 0) / above.length : position[i];
      };
      row.sort((a, b) => key(a) - key(b) || a - b);
      row.forEach((i, k) => (position[i] = k));
    }
  }
  const widest = Math.max(...rows.map((row) => row.length));
  const totalWidth = widest * WIDTH + (widest - 1) * GAP_X + 2 * MARGIN;
  const totalHeight = rows.length * HEIGHT + (rows.length - 1) * GAP_Y + 2 * MARGIN;
  const xy = nodes.map((_, i) => {
    const row = rows[layer[i]];
    const rowWidth = row.length * WIDTH + (row.length - 1) * GAP_X;
    const x = MARGIN + (totalWidth - 2 * MARGIN - rowWidth) / 2 + position[i] * (WIDTH + GAP_X);
    return { x, y: MARGIN + layer[i] * (HEIGHT + GAP_Y) };
  });

  const step = new Map(walk.map((id, k) => [id, k + 1]));
  const walked = new Set(walk.slice(1).map((id, k) => `${walk[k]}>${id}`));
  const arrow = `arrow-${++drawings}`;
  const svg = el("svg:svg", {
    viewBox: `0 0 ${totalWidth} ${totalHeight}`,
    width: totalWidth,
    height: totalHeight,
    class: "graph-svg",
    role: onChoose ? null : "img",
    "aria-label": onChoose
      ? `Decision graph of ${pathway.title}, ${nodes.length} nodes`
      : `The walk through the graph: ${walk.join(", then ")}`,
  });
  svg.append(
    el("svg:defs", {},
      el("svg:marker", { id: arrow, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        el("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))),
  );
  const edges = el("svg:g", { class: "edges", "aria-hidden": "true" });
  nodes.forEach((node, i) => {
    const next = node.next || [];
    next.forEach((edge, k) => {
      const j = index.get(edge.to);
      if (j === undefined) return;
      const from = { x: xy[i].x + (WIDTH * (k + 1)) / (next.length + 1), y: xy[i].y + HEIGHT };
      const to = { x: xy[j].x + WIDTH / 2, y: xy[j].y };
      const upward = to.y <= from.y;
      const bend = upward ? 80 : Math.max(24, (to.y - from.y) / 2);
      const d = `M ${from.x} ${from.y} C ${from.x} ${from.y + bend}, ${to.x} ${to.y - bend}, ${to.x} ${to.y}`;
      const onWalk = walked.has(`${node.id}>${edge.to}`);
      edges.append(el("svg:path", { d, class: onWalk ? "edge walked" : "edge", "marker-end": `url(#${arrow})` }));
      if (next.length > 1) {
        edges.append(el("svg:text", { x: from.x + 4, y: from.y + 14, class: "edge-label" }, String(k + 1)));
      }
    });
  });
  svg.append(edges);

  const boxes = new Map();
  nodes.forEach((node, i) => {
    const { x, y } = xy[i];
    const lines = wrap(node.title, 3);
    const choose = () => onChoose(node);
    const interactive = onChoose
      ? {
          role: "button",
          tabindex: 0,
          "aria-pressed": "false",
          "aria-label": `${node.id}: ${node.title}`,
          onclick: choose,
          onkeydown: (event) => {
            if (event.key === "Enter" || event.key === " ") {
              event.preventDefault();
              choose();
            }
          },
        }
      : {};
    const box = el("svg:g", { class: step.has(node.id) ? "node visited" : "node", "data-node": node.id, ...interactive },
      el("svg:rect", { x, y, width: WIDTH, height: HEIGHT, rx: 6 }),
      el("svg:text", { x: x + 8, y: y + LINE + 2, class: "node-id" },
        step.has(node.id) ? `${step.get(node.id)}. ${node.id}` : node.id),
      lines.map((line, k) => el("svg:text", { x: x + 8, y: y + LINE * (k + 2) + 4, class: "node-title" }, line)),
    );
    boxes.set(node.id, box);
    svg.append(box);
  });
  svg.select = (id) => {
    for (const [nodeId, box] of boxes) box.setAttribute("aria-pressed", String(nodeId === id));
  };
  svg.focusNode = (id) => boxes.get(id)?.focus();
  return svg;
}
