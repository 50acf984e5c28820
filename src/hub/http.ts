// One HTTP exchange with node:http(s): redirects are never followed here, so the caller can read the
// hub's headers on a 302 and decide itself where to go next.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { HubError } from "./errors.js";

export interface HttpRequest {
  method: "HEAD" | "GET";
  url: string;
  headers: Record<string, string>;
  /** Longest silence allowed on the socket, headers and body alike. */
  timeoutMs: number;
}

export const USER_AGENT = `loom; node/${process.versions.node}`;

/** Resolves when the status line and headers arrive; the body is left to the caller to read or drop. */
export function send(req: HttpRequest): Promise<IncomingMessage> {
  const url = new URL(req.url);
  const requestFn = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
  if (!requestFn) {
    return Promise.reject(new HubError("BadResponse", `Cannot download from "${req.url}": only http and https URLs are supported.`));
  }
  return new Promise((resolvePromise, reject) => {
    const outgoing = requestFn(url, { method: req.method, headers: { "User-Agent": USER_AGENT, ...req.headers } }, resolvePromise);
    outgoing.setTimeout(req.timeoutMs, () => {
      outgoing.destroy(new Error(`no data from ${url.origin} for ${req.timeoutMs} ms`));
    });
    outgoing.on("error", (error) => {
      reject(new HubError("Network", `Cannot reach ${url.origin} (${req.method} ${url.pathname}): ${error.message}`));
    });
    outgoing.end();
  });
}

/** A response header as one string (the first value when repeated). */
export function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Drops a body we do not need, so the socket can be reused. */
export function discard(res: IncomingMessage): void {
  res.on("error", () => {}); // a reset while draining a body nobody reads is not worth a crash
  res.resume();
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** A Location without scheme and host ("/new/name/resolve/...") — RFC 7231 allows it. */
export function isRelativeLocation(location: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(location) && !location.startsWith("//");
}
