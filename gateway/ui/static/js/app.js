// The single-page app: hash routes #/files/<path>, #/cluster, #/overlay.

import { $ } from "./dom.js";
import { clearError } from "./shell.js";
import * as files from "./files.js";
import * as cluster from "./cluster.js";
import * as overlay from "./overlay.js";

const pages = { files, cluster, overlay };
let current = null;

function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "/files/";
  const m = hash.match(/^\/(files|cluster|overlay)(\/.*)?$/);
  const name = m ? m[1] : "files";
  const rest = (m && m[2]) || "/";
  if (current && current !== name) {
    pages[current].hide();
    clearError();
  }
  for (const n of Object.keys(pages)) {
    $(`#page-${n}`).hidden = n !== name;
    const link = $(`#nav-${n}`);
    if (n === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  current = name;
  document.title = `PuddleStore · ${name === "files" ? rest : name}`;
  pages[name].show(rest);
}

$("#error-close").addEventListener("click", clearError);
window.addEventListener("hashchange", route);
files.init();
cluster.init();
overlay.init();
route();
