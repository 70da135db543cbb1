// What every page shares: the error bar, the dialog, and live polling.

import { $ } from "./dom.js";

export function showError(err) {
  const msg = err && err.toString ? err.toString() : String(err);
  $("#error-text").textContent = msg;
  $("#error").hidden = false;
}

export function clearError() {
  $("#error").hidden = true;
  $("#error-text").textContent = "";
}

// guard runs an action, shows its error if it fails, and says whether it succeeded.
export async function guard(fn) {
  try {
    await fn();
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}

// ask opens the page's <dialog>: a confirmation, or with field set, a
// prompt. It resolves to true/false, or to the text entered (null if cancelled).
export function ask({ title, text = "", field, value = "", ok = "OK", danger = false }) {
  const dlg = $("#dialog");
  $("#dialog-title").textContent = title;
  $("#dialog-text").textContent = text;
  $("#dialog-text").hidden = !text;
  $("#dialog-field").hidden = !field;
  $("#dialog-label").textContent = field || "";
  const input = $("#dialog-input");
  input.value = value;
  input.required = !!field;
  const okBtn = $("#dialog-ok");
  okBtn.textContent = ok;
  okBtn.classList.toggle("danger", danger);
  dlg.returnValue = "";
  return new Promise((resolve) => {
    dlg.addEventListener(
      "close",
      () => {
        const yes = dlg.returnValue === "ok";
        resolve(field ? (yes ? input.value.trim() : null) : yes);
      },
      { once: true },
    );
    dlg.showModal();
    if (field) {
      input.focus();
      input.select();
    } else {
      okBtn.focus();
    }
  });
}

// Poller calls fn every interval ms while started and the page is visible;
// a call starts only after the previous one ended, so slow answers never pile up.
export class Poller {
  constructor(fn, interval) {
    this.fn = fn;
    this.interval = interval;
    this.running = false;
    this.timer = null;
    this.busy = false;
    document.addEventListener("visibilitychange", () => {
      if (!this.running) return;
      if (document.hidden) this.pause();
      else this.kick();
    });
  }

  start() {
    this.running = true;
    this.kick();
  }

  stop() {
    this.running = false;
    this.pause();
  }

  pause() {
    clearTimeout(this.timer);
    this.timer = null;
    setLive(false);
  }

  // kick polls now and schedules the next poll.
  async kick() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.running || document.hidden || this.busy) return;
    this.busy = true;
    setLive(true);
    try {
      await this.fn();
    } finally {
      this.busy = false;
    }
    if (this.running && !document.hidden) {
      this.timer = setTimeout(() => this.kick(), this.interval);
    }
  }
}

function setLive(on) {
  const el = $("#live");
  el.classList.toggle("on", on);
  el.textContent = on ? "live" : "";
}
