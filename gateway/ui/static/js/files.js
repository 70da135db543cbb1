// The file browser: #/files/<dir>. Lists a directory (as of a moment when
// time travelling), uploads, downloads, deletes, renames, makes
// directories, and shows and restores a file's versions.

import * as api from "./api.js";
import { $, h, formatBytes, formatTime, parseTime, ago, joinPath, parentPath, baseName } from "./dom.js";
import { ask, guard, showError, clearError } from "./shell.js";

const state = {
  dir: "/",
  at: null, // Date: the moment viewed; null: now (writes allowed)
  history: null, // the path whose history panel is open
  loadSeq: 0, // the newest listing request; older answers are dropped
};

const dirHref = (p) => "#/files" + (p === "/" ? "/" : api.encodePath(p));

// atParam is the ?at= value: RFC 3339 to the second, or undefined for now.
function atParam() {
  return state.at ? state.at.toISOString().replace(/\.\d{3}Z$/, "Z") : undefined;
}

export function init() {
  $("#upload-input").addEventListener("change", (e) => {
    const list = [...e.target.files];
    e.target.value = ""; // choosing the same file again fires change again
    uploadAll(list);
  });
  const drop = $("#dropzone");
  drop.addEventListener("dragover", (e) => {
    if (state.at) return;
    e.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    drop.classList.remove("dragging");
    if (state.at || !e.dataTransfer.files.length) return;
    e.preventDefault();
    uploadAll([...e.dataTransfer.files]);
  });
  $("#mkdir-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#mkdir-name").value.trim();
    if (!name) return;
    const ok = await guard(() => api.mkdir(joinPath(state.dir, name)));
    if (ok) $("#mkdir-name").value = "";
    await load();
  });
  $("#history-close").addEventListener("click", closeHistory);
  initTimeTravel();
}

export function show(dir) {
  const d = "/" + dir.split("/").filter(Boolean).join("/");
  if (d !== state.dir) closeHistory();
  state.dir = d;
  load();
}

export function hide() {}

// load lists the current directory and re-renders it (and the open history).
export async function load() {
  const seq = ++state.loadSeq;
  renderBreadcrumb();
  let res;
  try {
    res = await api.list(state.dir, atParam());
  } catch (e) {
    if (seq !== state.loadSeq) return;
    renderEntries([]);
    $("#listing-empty").hidden = true;
    if (e.status === 404 && state.at) showError(`${state.dir} did not exist at ${formatTime(state.at)}`);
    else showError(e);
    return;
  }
  if (seq !== state.loadSeq) return;
  if (res && res.dir === false) {
    // A file's path in the hash: show its directory and its history.
    location.hash = dirHref(parentPath(state.dir));
    openHistory(state.dir);
    return;
  }
  const entries = (res && res.entries) || [];
  entries.sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  renderEntries(entries);
  $("#listing").dataset.loaded = String(seq);
  if (state.history) refreshHistory();
}

function renderBreadcrumb() {
  const nav = $("#breadcrumb");
  const segs = state.dir.split("/").filter(Boolean);
  const parts = [h("a", { href: dirHref("/"), "data-testid": "crumb", "aria-label": "Root" }, "/")];
  let p = "";
  segs.forEach((seg, i) => {
    p += "/" + seg;
    if (i > 0) parts.push(h("span", { class: "sep", "aria-hidden": "true" }, "/"));
    parts.push(
      i === segs.length - 1
        ? h("span", { "aria-current": "location", "data-testid": "crumb" }, seg)
        : h("a", { href: dirHref(p), "data-testid": "crumb" }, seg),
    );
  });
  nav.replaceChildren(...parts);
}

function renderEntries(entries) {
  const past = !!state.at;
  const rows = entries.map((e) => {
    const path = e.path || joinPath(state.dir, e.name);
    const name = e.dir
      ? h("a", { href: dirHref(path), class: "dir", "data-testid": "entry-link" }, e.name + "/")
      : h("a", { href: api.fileURL(path, { at: atParam() }), download: e.name, "data-testid": "entry-link" }, e.name);
    const actions = [];
    if (!e.dir) {
      actions.push(
        h("a", { class: "button small", href: api.fileURL(path, { at: atParam() }), download: e.name,
          "data-testid": "download-link", "aria-label": `Download ${e.name}` }, "Download"),
        h("button", { type: "button", class: "small", "data-testid": "history-btn",
          "aria-label": `History of ${e.name}`, onclick: () => openHistory(path) }, "History"),
      );
    }
    actions.push(
      h("button", { type: "button", class: "small", disabled: past, "data-testid": "rename-btn",
        "aria-label": `Rename ${e.name}`, onclick: () => renameEntry(path) }, "Rename"),
      h("button", { type: "button", class: "small danger", disabled: past, "data-testid": "delete-btn",
        "aria-label": `Delete ${e.name}`, onclick: () => deleteEntry(path, e.dir) }, "Delete"),
    );
    return h(
      "tr",
      { "data-testid": "entry", dataset: { name: e.name, path, dir: String(!!e.dir), versions: String(e.versions ?? ""), version: String(e.version ?? "") },
        class: state.history === path ? "selected" : null },
      h("td", { class: "name" }, name),
      h("td", { class: "num" }, e.dir ? "" : formatBytes(e.size)),
      h("td", { class: "num", "data-testid": "entry-versions" }, e.dir ? "" : String(e.versions ?? "")),
      h("td", { title: formatTime(e.mtime) }, formatTime(e.mtime)),
      h("td", { class: "mono" }, e.writer || ""),
      h("td", { class: "row-actions" }, actions),
    );
  });
  $("#listing-body").replaceChildren(...rows);
  $("#listing-empty").hidden = entries.length > 0;
}

async function deleteEntry(path, dir) {
  const yes = await ask({
    title: `Delete ${baseName(path)}?`,
    text: dir ? `${path} and everything under it will be deleted.` : `${path} will be deleted. Its earlier versions stay reachable by time travel.`,
    ok: "Delete",
    danger: true,
  });
  if (!yes) return;
  if (await guard(() => api.remove(path, dir))) {
    clearError();
    if (state.history === path) closeHistory();
  }
  await load();
}

async function renameEntry(path) {
  const to = await ask({ title: `Rename ${baseName(path)}`, field: "New name or path", value: baseName(path), ok: "Rename" });
  if (!to || to === baseName(path)) return;
  const dest = to.startsWith("/") ? to : joinPath(parentPath(path), to);
  if (await guard(() => api.rename(path, dest))) {
    clearError();
    if (state.history === path) state.history = dest;
  }
  await load();
}

// Uploads: several files at once, each with its own progress bar.
async function uploadAll(list) {
  if (!list.length || state.at) return;
  const ul = $("#uploads");
  ul.dataset.state = "busy";
  const items = list.map((file) => {
    const bar = h("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
    const status = h("span", { class: "status" }, "waiting");
    const li = h("li", { "data-testid": "upload-item", dataset: { name: file.name, state: "waiting" } },
      h("span", { class: "name" }, file.name), bar, status);
    return { file, li, bar, status, path: joinPath(state.dir, file.name) };
  });
  ul.replaceChildren(...items.map((it) => it.li));
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const it = items[next++];
      it.li.dataset.state = "sending";
      try {
        const res = await api.upload(it.path, it.file, (loaded, total) => {
          const pct = total ? Math.round((100 * loaded) / total) : 100;
          it.bar.value = pct;
          it.status.textContent = `${pct}% of ${formatBytes(total)}`;
        });
        it.li.dataset.state = "done";
        it.status.textContent = res.version ? `done: version ${res.version}` : "done";
      } catch (e) {
        failed++;
        it.li.dataset.state = "failed";
        it.li.classList.add("failed");
        it.status.textContent = e.toString();
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  ul.dataset.state = failed ? "failed" : "done";
  if (failed) showError(`${failed} of ${items.length} uploads failed; see the list above.`);
  await load();
}

// History: every version of a file, each downloadable and restorable.
async function openHistory(path) {
  state.history = path;
  $("#history").hidden = false;
  $("#history-title").textContent = `History of ${baseName(path)}`;
  for (const tr of document.querySelectorAll("#listing-body tr")) {
    tr.classList.toggle("selected", tr.dataset.path === path);
  }
  await refreshHistory();
}

function closeHistory() {
  state.history = null;
  $("#history").hidden = true;
  $("#history-body").replaceChildren();
  for (const tr of document.querySelectorAll("#listing-body tr.selected")) tr.classList.remove("selected");
}

async function refreshHistory() {
  const path = state.history;
  let res;
  try {
    res = await api.history(path);
  } catch (e) {
    showError(e);
    return;
  }
  if (state.history !== path) return;
  const versions = [...(res.versions || [])].sort((a, b) => b.version - a.version);
  const latest = versions.length ? versions[0].version : 0;
  const rows = versions.map((v) => {
    const t = parseTime(v.time) || new Date(0);
    const future = state.at && t > state.at;
    return h(
      "tr",
      { "data-testid": "history-row", dataset: { version: String(v.version) }, class: future ? "future" : null },
      h("td", { class: "num" }, String(v.version)),
      h("td", { class: "when", title: v.time }, formatTime(v.time), h("br"), h("small", { class: "muted" }, ago(t))),
      h("td", { class: "num" }, formatBytes(v.size)),
      h("td", { class: "mono" }, v.writer || ""),
      h("td", { class: "row-actions" },
        h("a", { class: "button small", href: api.fileURL(path, { version: v.version }), download: baseName(path),
          "data-testid": "version-download", dataset: { version: String(v.version) },
          "aria-label": `Download version ${v.version}` }, "Download"),
        v.version === latest
          ? h("span", { class: "badge" }, "current")
          : h("button", { type: "button", class: "small", disabled: !!state.at, "data-testid": "restore-btn",
              dataset: { version: String(v.version) }, "aria-label": `Restore version ${v.version}`,
              onclick: () => restoreVersion(path, v.version) }, "Restore"),
      ),
    );
  });
  $("#history-body").replaceChildren(...rows);
  $("#history").dataset.versions = String(versions.length);
}

async function restoreVersion(path, version) {
  if (await guard(() => api.restore(path, version))) clearError();
  await load();
}

// Time travel: a slider over the last hour/day/week/month and a
// datetime input; any moment but now makes the page read-only.
function initTimeTravel() {
  const slider = $("#time-slider");
  const range = $("#time-range");
  const input = $("#time-input");
  const momentOf = () => {
    const v = Number(slider.value);
    if (v >= Number(slider.max)) return null;
    const span = Number(range.value) * 1000;
    return new Date(Date.now() - span * (1 - v / Number(slider.max)));
  };
  slider.addEventListener("input", () => {
    const m = momentOf();
    input.value = m ? toLocalInput(m) : "";
  });
  slider.addEventListener("change", () => setAt(momentOf()));
  range.addEventListener("change", () => {
    if (state.at) syncSlider();
  });
  input.addEventListener("change", () => {
    const d = input.value ? new Date(input.value) : null;
    setAt(d && !isNaN(d) && d < new Date() ? d : null);
  });
  $("#time-now").addEventListener("click", () => setAt(null));
}

function setAt(d) {
  state.at = d;
  const past = !!d;
  $("#time-input").value = d ? toLocalInput(d) : "";
  syncSlider();
  $("#upload-input").disabled = past;
  $("label[for=upload-input]").classList.toggle("disabled", past);
  $("label[for=upload-input]").setAttribute("aria-disabled", String(past));
  $("#mkdir-name").disabled = past;
  $("#mkdir-btn").disabled = past;
  $("#time-now").disabled = !past;
  const banner = $("#past-banner");
  banner.hidden = !past;
  banner.textContent = past ? `Viewing the tree as of ${formatTime(d)} (${ago(d)}). Writes are disabled; press “Now” to return.` : "";
  document.body.classList.toggle("past", past);
  load();
}

function syncSlider() {
  const slider = $("#time-slider");
  if (!state.at) {
    slider.value = slider.max;
    return;
  }
  const span = Number($("#time-range").value) * 1000;
  const frac = 1 - (Date.now() - state.at.getTime()) / span;
  slider.value = String(Math.max(0, Math.round(frac * Number(slider.max))));
}

function toLocalInput(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
