/** Every error Loom raises on bad input is a LoomError with a message that names the culprit. */
export class LoomError extends Error {
  override name = "LoomError";
}
