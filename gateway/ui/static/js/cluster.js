// The cluster page: every metadata node's Raft state (the leader
// highlighted), every storage node's blocks, and the replication health,
// polled every 2 s while the page is shown.

import * as api from "./api.js";
import { $, h, formatBytes, shortID } from "./dom.js";
import { Poller, showError, clearError } from "./shell.js";

let poller;
let failing = false;

export function init() {
  poller = new Poller(refresh, 2000);
}

export function show() {
  poller.start();
}

export function hide() {
  poller.stop();
}

async function refresh() {
  let st;
  try {
    st = await api.cluster();
  } catch (e) {
    failing = true;
    showError(e);
    $("#health").replaceChildren(h("p", { class: "bad" }, "No answer from the cluster: ", e.toString()));
    return;
  }
  if (failing) {
    failing = false;
    clearError();
  }
  render(st);
}

function render(st) {
  const metas = [...(st.meta || [])].sort((a, b) => a.addr.localeCompare(b.addr));
  const stores = [...(st.storage || [])].sort((a, b) => a.addr.localeCompare(b.addr));

  $("#meta-body").replaceChildren(
    ...metas.map((m) => {
      const down = !!m.error;
      const leader = !down && m.role === "leader";
      return h(
        "tr",
        { "data-testid": "meta-row", class: leader ? "leader" : down ? "down" : null,
          dataset: { addr: m.addr, role: down ? "unreachable" : m.role || "" } },
        h("td", { class: "mono" }, m.addr),
        down
          ? h("td", { colspan: "8", class: "bad" }, "unreachable: ", m.error)
          : [
              h("td", { class: "mono" }, String(m.id ?? "")),
              h("td", {}, leader ? h("strong", {}, "★ leader") : m.role || ""),
              h("td", { class: "num" }, String(m.term ?? "")),
              h("td", { class: "mono" }, m.leader ? String(m.leader) : "none"),
              h("td", { class: "num" }, String(m.commit ?? "")),
              h("td", { class: "num" }, String(m.applied ?? "")),
              h("td", { class: "num" }, String(m.last_index ?? "")),
              h("td", { class: "num" }, String(m.snapshot ?? "")),
            ],
      );
    }),
  );

  $("#storage-body").replaceChildren(
    ...stores.map((s) => {
      const down = !!s.error;
      const under = Number(s.under_replicated || 0);
      return h(
        "tr",
        { "data-testid": "storage-row", class: down ? "down" : under > 0 ? "warn" : null,
          dataset: { addr: s.addr, id: s.id || "" } },
        h("td", { class: "mono" }, s.addr),
        down
          ? h("td", { colspan: "7", class: "bad" }, "unreachable: ", s.error)
          : [
              h("td", { class: "mono", title: s.id || "" }, shortID(s.id)),
              h("td", {}, s.overlay || ""),
              h("td", { class: "num" }, String(s.blocks ?? 0)),
              h("td", { class: "num" }, formatBytes(s.bytes ?? 0)),
              h("td", { class: "num" + (under > 0 ? " bad" : "") }, String(under)),
              h("td", { class: "num" }, String(s.repairs ?? 0)),
              h("td", { class: "num" + (s.verify_failures > 0 ? " bad" : "") }, String(s.verify_failures ?? 0)),
            ],
      );
    }),
  );

  renderHealth(st, metas, stores);
  $("#page-cluster").dataset.loaded = "true";
}

function renderHealth(st, metas, stores) {
  const leaders = metas.filter((m) => !m.error && m.role === "leader");
  const metaUp = metas.filter((m) => !m.error).length;
  const storeUp = stores.filter((s) => !s.error).length;
  const under = stores.reduce((n, s) => n + Number(s.under_replicated || 0), 0);
  const blocks = stores.reduce((n, s) => n + Number(s.blocks || 0), 0);
  const bytes = stores.reduce((n, s) => n + Number(s.bytes || 0), 0);
  const failures = stores.reduce((n, s) => n + Number(s.verify_failures || 0), 0);
  const replicas = stores.find((s) => s.replicas)?.replicas;

  const problems = [];
  if (leaders.length !== 1) problems.push(leaders.length ? `${leaders.length} leaders claimed` : "no metadata leader");
  if (metaUp < metas.length) problems.push(`${metas.length - metaUp} metadata node(s) unreachable`);
  if (storeUp < stores.length) problems.push(`${stores.length - storeUp} storage node(s) unreachable`);
  if (under > 0) problems.push(`${under} block(s) under-replicated`);
  if (failures > 0) problems.push(`${failures} verify failure(s)`);
  if (!st.registry) problems.push("the storage registry could not be read");
  const ok = problems.length === 0;

  const card = (label, value, testid, bad) =>
    h("div", { class: "card" + (bad ? " bad" : ""), "data-testid": testid }, h("span", { class: "label" }, label), h("span", { class: "value" }, value));
  $("#health").replaceChildren(
    h("p", { class: ok ? "status ok" : "status bad", "data-testid": "health-status", dataset: { ok: String(ok) } },
      ok ? "Healthy: every node answers and every block has its replicas." : "Attention: " + problems.join("; ") + "."),
    h("div", { class: "cards" },
      card("Leader", leaders.length === 1 ? leaders[0].addr : "none", "health-leader", leaders.length !== 1),
      card("Metadata nodes", `${metaUp} / ${metas.length} up`, "health-meta", metaUp < metas.length),
      card("Storage nodes", `${storeUp} / ${stores.length} up`, "health-storage", storeUp < stores.length),
      card("Blocks stored", `${blocks} (${formatBytes(bytes)})${replicas ? `, ${replicas} replicas each` : ""}`, "health-blocks", false),
      card("Under-replicated", String(under), "health-under", under > 0),
    ),
  );
}
