// Same-origin calls to Queuarr: the session cookie authenticates them, and every
// state-changing call carries X-Queuarr-UI, which a cross-site form cannot send.

export const API = new URL("../api/v3/", document.baseURI).pathname;
const SESSION = new URL("session", document.baseURI).pathname;

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

// Radarr answers {message}, an array of validation failures, or problem details.
function describe(status, body) {
  if (Array.isArray(body) && body.length) {
    return body.map((f) => f.errorMessage || f.message || JSON.stringify(f)).join("; ");
  }
  if (body && typeof body === "object") {
    if (body.message) return body.message;
    if (body.title) return body.title;
  }
  if (typeof body === "string" && body) return body;
  return `HTTP ${status}`;
}

let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function parse(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function request(method, path, { json, body, headers = {}, query } = {}) {
  const url = new URL(path.startsWith("/") ? path : API + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of [].concat(value)) url.searchParams.append(key, String(v));
  }
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (method !== "GET" && method !== "HEAD") init.headers["X-Queuarr-UI"] = "1";
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  const data = await parse(response);
  if (response.status === 401 && !path.startsWith(SESSION)) onSignedOut();
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data };
}

export const get = (path, query) => request("GET", path, { query }).then((r) => r.data);
export const put = (path, json) => request("PUT", path, { json }).then((r) => r.data);
export const post = (path, json) => request("POST", path, { json }).then((r) => r.data);
export const del = (path, query, json) => request("DELETE", path, { query, json })
  .then((r) => r.data);

export async function signedIn() {
  const { data } = await request("GET", SESSION);
  return Boolean(data && data.signedIn);
}

export async function signIn(apiKey) {
  try {
    await request("POST", SESSION, { json: { apiKey } });
  } catch (error) {
    if (error.status === 401) throw new Error("That API key is not right.");
    if (error.status === 429) throw new Error("Too many wrong keys: wait a minute and try again.");
    throw error;
  }
}

export async function signOut() {
  await request("DELETE", SESSION);
}
