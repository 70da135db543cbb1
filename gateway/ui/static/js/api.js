// The gateway's HTTP API (/api/v1/...), as the pages use it. Every call
// rejects with an ApiError carrying the API's {"error","kind"} message.

const base = "/api/v1";

export class ApiError extends Error {
  constructor(status, message, kind) {
    super(message);
    this.status = status;
    this.kind = kind || "";
  }
  toString() {
    const k = this.kind ? ` (${this.kind})` : "";
    return `${this.message}${k}`;
  }
}

// encodePath turns "/a b/c" into "/a%20b/c": each segment escaped, slashes kept.
export function encodePath(path) {
  const segs = path.split("/").filter((s) => s !== "");
  return "/" + segs.map(encodeURIComponent).join("/");
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

// errorFrom reads an error response: the JSON {"error","kind"} when the API
// sent one, else the status text and the body's first line.
export async function errorFrom(resp) {
  const text = await resp.text().catch(() => "");
  return errorFromText(resp.status, resp.statusText, text);
}

export function errorFromText(status, statusText, text) {
  try {
    const j = JSON.parse(text);
    if (j && j.error) return new ApiError(status, j.error, j.kind);
  } catch (_) {
    // not JSON
  }
  const line = (text || "").split("\n")[0].trim();
  return new ApiError(status, `${status} ${statusText || ""}${line ? ": " + line : ""}`.trim(), "");
}

async function call(method, url, { body, headers } = {}) {
  let resp;
  try {
    resp = await fetch(url, { method, body, headers, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `cannot reach the gateway: ${e.message}`, "unavailable");
  }
  if (!resp.ok) throw await errorFrom(resp);
  if (resp.status === 204) return null;
  const ct = resp.headers.get("Content-Type") || "";
  if (ct.includes("json")) return resp.json();
  return resp.text();
}

export const fileURL = (path, params) => `${base}/files${encodePath(path)}${query(params)}`;

// list returns the directory's listing ({path, dir, entries}), as of at if given.
export const list = (path, at) => call("GET", fileURL(path, { at }));
export const stat = (path, at) => call("GET", `${base}/stat${encodePath(path)}${query({ at })}`);
export const history = (path) => call("GET", `${base}/history${encodePath(path)}`);
export const remove = (path, recursive) =>
  call("DELETE", fileURL(path, { recursive: recursive ? 1 : "" }));
export const mkdir = (path) => call("POST", `${base}/mkdir${encodePath(path)}?parents=1`);
export const rename = (from, to) =>
  call("POST", `${base}/rename`, {
    body: JSON.stringify({ from, to }),
    headers: { "Content-Type": "application/json" },
  });
export const restore = (path, version) =>
  call("POST", `${base}/restore${encodePath(path)}${query({ version })}`);
export const cluster = () => call("GET", `${base}/cluster`);
export const overlay = () => call("GET", `${base}/overlay`);
export const where = (path, version) =>
  call("GET", `${base}/where${encodePath(path)}${query({ version })}`);

// upload PUTs one file with XMLHttpRequest, whose upload progress fetch
// cannot report; onProgress gets (loaded, total).
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", fileURL(path));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (_) {
          resolve({});
        }
      } else {
        reject(errorFromText(xhr.status, xhr.statusText, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "upload failed: cannot reach the gateway", "unavailable"));
    xhr.onabort = () => reject(new ApiError(0, "upload aborted", "aborted"));
    xhr.send(file);
  });
}
