// Small DOM and formatting helpers shared by the pages.

// h builds an element: h("a", {href: "/x", class: "y", onclick: f}, "text", child).
// Attributes whose value is false, null or undefined are left out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const svgNS = "http://www.w3.org/2000/svg";

// s builds an SVG element like h.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function formatBytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

// parseTime accepts the API's RFC 3339 strings and unix seconds.
export function parseTime(t) {
  if (t === undefined || t === null || t === "") return null;
  if (typeof t === "number") return new Date(t * 1000);
  // The API writes nanoseconds; Date.parse is only sure of milliseconds.
  const d = new Date(String(t).replace(/(\.\d{3})\d+/, "$1"));
  return isNaN(d) ? null : d;
}

export function formatTime(t) {
  const d = parseTime(t);
  if (!d || d.getTime() <= 0) return "";
  return d.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

// ago says how long before now d was, roughly.
export function ago(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)}h ago`;
  return `${(s / 86400).toFixed(1)}d ago`;
}

export const shortID = (id) => (id ? String(id).slice(0, 8) : "");

// joinPath("/a", "b") is "/a/b"; paths are absolute, without a trailing slash.
export function joinPath(dir, name) {
  return (dir.replace(/\/+$/, "") + "/" + name.replace(/^\/+/, "")).replace(/\/+/g, "/");
}

export function parentPath(p) {
  const i = p.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

export function baseName(p) {
  const segs = p.split("/").filter(Boolean);
  return segs.length ? segs[segs.length - 1] : "/";
}
