// The overlay page: the storage nodes on a circle by id (angle = id / 2^160),
// Chord successor arrows and a selected node's fingers, or Tapestry
// routing-table edges coloured by level; for a file, the nodes that should
// hold and do hold its blocks, and the hops of a lookup. Polled every 2 s.

import * as api from "./api.js";
import { $, h, s, shortID } from "./dom.js";
import { Poller, showError, clearError } from "./shell.js";

const size = 800;
const cx = size / 2;
const cy = size / 2;
const radius = 300;
const levelColours = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#db2777", "#0891b2", "#65a30d", "#dc2626"];
const colour = {
  ring: "#cbd5e1",
  successor: "#475569",
  finger: "#d97706",
  route: "#dc2626",
  holds: "#16a34a",
  missing: "#f59e0b",
  located: "#2563eb",
};

const state = {
  view: null, // the last /overlay answer
  where: null, // the last /where answer
  wherePath: "",
  whereVersion: "",
  selected: null, // id of the selected node
};
let poller;
let failing = false;

export function init() {
  poller = new Poller(refresh, 2000);
  $("#where-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.wherePath = $("#where-path").value.trim();
    state.whereVersion = $("#where-version").value.trim();
    state.where = null;
    poller.kick();
  });
  $("#where-clear").addEventListener("click", () => {
    state.wherePath = "";
    state.whereVersion = "";
    state.where = null;
    $("#where-path").value = "";
    $("#where-version").value = "";
    render();
  });
}

export function show() {
  poller.start();
}

export function hide() {
  poller.stop();
}

async function refresh() {
  try {
    const [view, where] = await Promise.all([
      api.overlay(),
      state.wherePath ? api.where(state.wherePath, state.whereVersion || undefined) : Promise.resolve(null),
    ]);
    state.view = view;
    state.where = where;
    if (failing) clearError();
    failing = false;
  } catch (e) {
    failing = true;
    showError(e);
  }
  render();
}

// frac is an id's place on the ring, in [0, 1): its first 52 bits over 2^52
// (doubles hold 53; the rest cannot move a node by a pixel).
function frac(id) {
  const hex = String(id || "").replace(/[^0-9a-fA-F]/g, "").padEnd(13, "0").slice(0, 13);
  return parseInt(hex, 16) / 2 ** 52;
}

function pos(id, r = radius) {
  const a = frac(id) * 2 * Math.PI - Math.PI / 2; // id 0 at the top, clockwise
  return { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) };
}

// peerOf reads a peer given as {addr, id} or as a bare address or id.
function peerOf(p, nodes) {
  if (!p) return null;
  if (typeof p === "object") {
    // a Chord peer may be one of a node's several ring positions: draw it at the node
    return nodes.find((n) => n.id === p.id) || nodes.find((n) => p.addr && n.addr === p.addr) || (p.id ? p : null);
  }
  return nodes.find((n) => n.addr === p || n.id === p) || (/^[0-9a-f]{40}$/i.test(p) ? { id: p } : null);
}

function render() {
  const svg = $("#overlay-svg");
  const view = state.view;
  const defs = s("defs", {}, ...Object.entries({ ...colour, ...Object.fromEntries(levelColours.map((c, i) => [`l${i}`, c])) }).map(([k, c]) =>
    s("marker", { id: `arrow-${k}`, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", fill: c }))));
  if (!view) {
    svg.replaceChildren(defs);
    return;
  }
  // A node that did not answer has no id, so no place on the circle: it is listed instead.
  const nodes = (view.nodes || []).filter((n) => n.id);
  renderUnreachable((view.nodes || []).filter((n) => !n.id));
  const kind = view.kind || "";
  if (state.selected && !nodes.some((n) => n.id === state.selected)) state.selected = null;
  $("#overlay-kind").textContent = `${kind === "chord" ? "Chord" : "Tapestry"} overlay, ${nodes.length} node${nodes.length === 1 ? "" : "s"}. Click a node to ${kind === "chord" ? "see its fingers" : "see its routing table"}.`;
  svg.dataset.kind = kind;
  svg.dataset.nodes = String(nodes.length);

  const edges = s("g", { class: "edges" });
  const overlays = s("g", { class: "highlights" });
  const dots = s("g", { class: "nodes" });
  svg.replaceChildren(defs, s("circle", { cx, cy, r: radius, fill: "none", stroke: colour.ring, "stroke-width": 2 }), edges, overlays, dots);

  const line = (from, to, c, marker, opts = {}) => {
    const a = pos(from.id);
    const b = pos(to.id);
    // stop short of the target's circle so the arrowhead shows
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const end = { x: b.x - (dx / len) * 11, y: b.y - (dy / len) * 11 };
    return s("line", { x1: a.x, y1: a.y, x2: end.x, y2: end.y, stroke: c, "stroke-width": opts.width || 1.5,
      "stroke-dasharray": opts.dash, opacity: opts.opacity ?? 1, "marker-end": marker ? `url(#arrow-${marker})` : null,
      "data-testid": opts.testid });
  };

  if (kind === "chord") {
    for (const n of nodes) {
      const succ = peerOf(n.ring?.successors?.[0], nodes);
      if (succ && succ.id !== n.id) edges.append(line(n, succ, colour.successor, "successor", { testid: "successor-edge" }));
    }
    const sel = nodes.find((n) => n.id === state.selected);
    const seen = new Set();
    for (const f of sel?.ring?.fingers || []) {
      const p = peerOf(f, nodes);
      if (!p || p.id === sel.id || seen.has(p.id)) continue;
      seen.add(p.id);
      edges.append(line(sel, p, colour.finger, "finger", { dash: "6 4", width: 2, testid: "finger-edge" }));
    }
  } else {
    for (const n of nodes) {
      const dim = state.selected && n.id !== state.selected;
      const slots = n.table?.length ? n.table : [{ level: 0, entries: n.neighbours || [] }];
      for (const slot of slots) {
        const lvl = Number(slot.level) || 0;
        for (const e of slot.entries || []) {
          const p = peerOf(e, nodes);
          if (!p || p.id === n.id) continue;
          const c = levelColours[lvl % levelColours.length];
          edges.append(line(n, p, c, `l${lvl % levelColours.length}`, { opacity: dim ? 0.08 : 0.75, width: dim ? 1 : 1.5, testid: "table-edge" }));
        }
      }
    }
  }

  const marks = whereMarks(nodes, overlays);

  for (const n of nodes) {
    const p = pos(n.id);
    const m = marks.get(n.id);
    const down = !!n.error;
    const fill = down ? "#e2e8f0" : m?.holds ? colour.holds : m?.missing ? colour.missing : "#ffffff";
    const label = pos(n.id, radius + 38);
    dots.append(
      s("g", { class: "node" + (n.id === state.selected ? " selected" : ""), tabindex: "0", role: "button",
        "aria-label": `Node ${n.addr} id ${n.id}${down ? " (unreachable)" : ""}`,
        onclick: () => select(n.id), onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(n.id); } } },
        s("title", {}, `${n.addr}\n${n.id}${down ? "\nunreachable: " + n.error : ""}`),
        m?.located ? s("circle", { cx: p.x, cy: p.y, r: 16, fill: "none", stroke: colour.located, "stroke-width": 3, "data-testid": "located-mark" }) : null,
        s("circle", { cx: p.x, cy: p.y, r: 10, fill, stroke: n.id === state.selected ? "#0f172a" : "#334155",
          "stroke-width": n.id === state.selected ? 3 : 1.5, "stroke-dasharray": down ? "3 2" : null,
          "data-testid": "overlay-node", "data-id": n.id, "data-addr": n.addr,
          "data-holds": m?.holds ? "true" : null, "data-located": m?.located ? "true" : null }),
        s("text", { x: label.x, y: label.y, "text-anchor": "middle", "dominant-baseline": "middle", class: "node-label" },
          s("tspan", { x: label.x, dy: "-0.4em" }, shortID(n.id)),
          s("tspan", { x: label.x, dy: "1.2em", class: "addr" }, n.addr.replace(/^.*:/, ":"))),
      ),
    );
  }
  renderLegend(kind, nodes);
  renderSelected(kind, nodes);
}

// whereMarks draws the file's key and route, and says for each node id
// whether it should hold (and holds) a block and whether a lookup located it there.
function whereMarks(nodes, g) {
  const marks = new Map();
  const mark = (id) => marks.get(id) || marks.set(id, {}).get(id);
  const w = state.where;
  const info = $("#where-info");
  if (!state.wherePath) {
    info.replaceChildren("Enter a path to see where its blocks live.");
    return marks;
  }
  if (!w) {
    info.replaceChildren(`Looking up ${state.wherePath}…`);
    return marks;
  }
  for (const b of w.blocks || []) {
    for (const p of b.placement || []) {
      const id = peerOf(p, nodes)?.id;
      if (!id) continue;
      if (p.holds) mark(id).holds = true;
      else mark(id).missing = true;
    }
    for (const p of b.located || []) {
      const id = peerOf(p, nodes)?.id;
      if (id) mark(id).located = true;
    }
  }
  const route = w.route;
  const hops = (route?.hops || []).map((x) => peerOf(x, nodes)).filter(Boolean);
  const from = peerOf(route?.from, nodes);
  const path = from && (!hops.length || hops[0].id !== from.id) ? [from, ...hops] : hops;
  if (route?.key) {
    const k = pos(route.key, radius);
    g.append(s("path", { d: `M${k.x},${k.y - 9} l7,9 l-7,9 l-7,-9 z`, fill: colour.route, "data-testid": "route-key" },
      s("title", {}, `key ${route.key}`)));
  }
  const pts = path.map((p) => pos(p.id));
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    // bow each hop inwards so it does not hide the ring's own edges
    const mx = (a.x + b.x) / 2 + (cx - (a.x + b.x) / 2) * 0.25;
    const my = (a.y + b.y) / 2 + (cy - (a.y + b.y) / 2) * 0.25;
    g.append(s("path", { d: `M${a.x},${a.y} Q${mx},${my} ${b.x},${b.y}`, fill: "none", stroke: colour.route,
      "stroke-width": 3, "marker-end": "url(#arrow-route)", "data-testid": "route-hop" }));
    g.append(s("text", { x: mx, y: my, class: "hop-label", "text-anchor": "middle" }, String(i)));
  }

  const blocks = w.blocks || [];
  info.replaceChildren(
    h("p", {}, h("strong", {}, w.path || state.wherePath), ` version ${w.version ?? "?"}: `,
      w.inline ? "stored inline in the metadata (no blocks)." : `${blocks.length}${w.truncated ? "+" : ""} block${blocks.length === 1 ? "" : "s"}.`),
    blocks.length
      ? h("ol", { class: "blocks", "data-testid": "where-blocks" },
          ...blocks.slice(0, 20).map((b) => {
            const held = (b.placement || []).filter((p) => p.holds).length;
            return h("li", {}, h("span", { class: "mono", title: b.ref }, shortID(b.ref)),
              ` ${b.kind || "block"}, ${b.size ?? "?"} B, held by ${held} of ${(b.placement || []).length}`,
              (b.located || []).length ? `, located at ${(b.located || []).map((p) => p.addr).join(", ")}` : "",
              b.error ? h("span", { class: "bad" }, ` (${b.error})`) : null);
          }),
          blocks.length > 20 ? h("li", { class: "muted" }, `and ${blocks.length - 20} more`) : null)
      : null,
    route ? h("p", { "data-testid": "route-text" }, "Lookup route: ",
      path.length ? path.map((p) => p.addr || shortID(p.id)).join(" → ") : "none",
      route.error ? h("span", { class: "bad" }, ` (${route.error})`) : null) : null,
  );
  return marks;
}

function renderUnreachable(down) {
  const el = $("#overlay-down");
  el.hidden = down.length === 0;
  el.replaceChildren(h("h2", {}, "Unreachable"),
    h("ul", { class: "plain" }, ...down.map((n) => h("li", { "data-testid": "overlay-down-node" },
      h("span", { class: "mono" }, n.addr), ": ", h("span", { class: "bad" }, n.error || "no answer")))));
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  render();
}

function renderLegend(kind, nodes) {
  const item = (c, text, shape) =>
    h("li", {}, h("span", { class: "swatch" + (shape ? " " + shape : ""), style: `background:${c};border-color:${c}` }), text);
  const items = kind === "chord"
    ? [item(colour.successor, "successor"), item(colour.finger, "finger of the selected node", "dash")]
    : levelColours.slice(0, Math.max(1, maxLevel(nodes) + 1)).map((c, i) => item(c, `routing table level ${i}`));
  items.push(item(colour.holds, "holds a block of the file", "dot"), item(colour.missing, "should hold a block, does not", "dot"),
    item(colour.located, "a lookup located a block here", "ring"), item(colour.route, "lookup route"));
  $("#overlay-legend").replaceChildren(...items);
}

function maxLevel(nodes) {
  let m = 0;
  for (const n of nodes) for (const slot of n.table || []) m = Math.max(m, Number(slot.level) || 0);
  return m;
}

function renderSelected(kind, nodes) {
  const el = $("#overlay-selected");
  const n = nodes.find((x) => x.id === state.selected);
  if (!n) {
    el.replaceChildren("Click a node to see its " + (kind === "chord" ? "fingers." : "routing table."));
    el.classList.add("muted");
    return;
  }
  el.classList.remove("muted");
  const peer = (p) => (p ? `${p.addr || ""} ${shortID(p.id)}` : "none");
  const parts = [h("p", {}, h("strong", {}, n.addr), h("br"), h("span", { class: "mono small" }, n.id))];
  if (n.error) parts.push(h("p", { class: "bad" }, "unreachable: ", n.error));
  if (kind === "chord" && n.ring) {
    parts.push(h("p", {}, "predecessor: ", peer(n.ring.predecessor)));
    parts.push(h("p", {}, "successors: ", (n.ring.successors || []).map(peer).join(", ") || "none"));
    parts.push(h("table", { class: "grid compact" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "finger"), h("th", { scope: "col" }, "node"))),
      h("tbody", {}, ...(n.ring.fingers || []).map((f) => h("tr", {}, h("td", { class: "num" }, String(f.index)), h("td", {}, peer(f)))))));
  } else {
    parts.push(h("table", { class: "grid compact" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "level"), h("th", { scope: "col" }, "digit"), h("th", { scope: "col" }, "neighbours"))),
      h("tbody", {}, ...(n.table || []).map((slot) => h("tr", {},
        h("td", { class: "num" }, String(slot.level)), h("td", { class: "mono" }, Number(slot.digit).toString(16)),
        h("td", {}, (slot.entries || []).map((e) => `${peer(e)}${e.rtt_ms ? ` (${Number(e.rtt_ms).toFixed(1)} ms)` : ""}`).join(", ")))))));
  }
  el.replaceChildren(...parts);
}
