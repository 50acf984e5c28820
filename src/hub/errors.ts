import { LoomError } from "../errors.js";

/**
 * Why a hub download failed. The first four are the hub's own `X-Error-Code` values; the rest are
 * ours, so callers can tell "this optional file does not exist" from "the network is down".
 */
export type HubErrorCode =
  | "RepoNotFound"
  | "RevisionNotFound"
  | "EntryNotFound"
  | "GatedRepo"
  | "Unauthorized"
  | "NotInCache"
  | "ChecksumMismatch"
  | "Network"
  | "Interrupted"
  | "BadResponse"
  | "Http";

/** A LoomError with a machine-readable reason; `commit` is set when the hub named the commit it looked at. */
export class HubError extends LoomError {
  override name = "HubError";
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly status?: number,
    readonly commit?: string,
  ) {
    super(message);
  }
}

/** What a request was for, so an error can name the repo, the revision and the file. */
export interface FileContext {
  repoId: string;
  revision: string;
  filename: string;
  endpoint: string;
  tokenSent: boolean;
}

/** Turns a hub error status (and its X-Error-Code / X-Error-Message headers) into a clear HubError. */
export function hubErrorFromStatus(
  status: number,
  errorCode: string | undefined,
  errorMessage: string | undefined,
  commit: string | undefined,
  ctx: FileContext,
): HubError {
  const file = `"${ctx.filename}" of ${ctx.repoId} at revision "${ctx.revision}"`;
  const hubSays = errorMessage ? ` The hub says: ${errorMessage}` : "";
  const tokenHint = ctx.tokenSent
    ? "the token that was sent is not allowed to read it (check HF_TOKEN)"
    : "set HF_TOKEN (or pass the token option) to a Hugging Face access token";
  switch (errorCode) {
    case "RepoNotFound":
      return new HubError(
        "RepoNotFound",
        `Repository "${ctx.repoId}" not found on ${ctx.endpoint} (HTTP ${status}). Check the id; if the repo is private, ${tokenHint}.${hubSays}`,
        status,
      );
    case "RevisionNotFound":
      return new HubError(
        "RevisionNotFound",
        `Revision "${ctx.revision}" not found in repository "${ctx.repoId}" (HTTP ${status}).${hubSays}`,
        status,
      );
    case "EntryNotFound":
      return new HubError("EntryNotFound", `File not found in repo: ${file} (HTTP ${status}).${hubSays}`, status, commit);
    case "GatedRepo":
      return new HubError(
        "GatedRepo",
        `Repository "${ctx.repoId}" is gated (HTTP ${status}): accept its conditions at ${ctx.endpoint}/${ctx.repoId}, then ${tokenHint}.${hubSays}`,
        status,
      );
  }
  if (status === 401 || status === 403) {
    return new HubError("Unauthorized", `Access denied to ${file} (HTTP ${status}): ${tokenHint}.${hubSays}`, status);
  }
  if (status === 404) {
    return new HubError("EntryNotFound", `File not found in repo: ${file} (HTTP 404).${hubSays}`, status, commit);
  }
  return new HubError("Http", `HTTP ${status} from ${ctx.endpoint} while fetching ${file}.${hubSays}`, status);
}
