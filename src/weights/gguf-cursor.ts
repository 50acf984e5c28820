import { LoomError } from "../errors.js";
import { readExactly, type OpenFile } from "./file.js";

const FIRST_READ_BYTES = 1 << 20;
/** Real headers (vocabularies, merges, templates) stay far below this; more means a corrupt length. */
const MAX_HEADER_BYTES = 256 << 20;

/**
 * Reads a GGUF header front to back. Bytes come from the file on demand into a buffer that grows
 * geometrically, so a 20 MB vocabulary costs a few reads and a small header costs one. Every read is
 * bounds-checked against the file size first: a corrupt count or length is an error, never an
 * allocation.
 */
export class HeaderCursor {
  position = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private view = new DataView(new ArrayBuffer(0));

  constructor(readonly file: OpenFile) {}

  get remaining(): number {
    return this.file.size - this.position;
  }

  fail(message: string): never {
    throw new LoomError(`${this.file.path}: ${message}`);
  }

  /** Makes `n` bytes at the current position readable; `what` names them in the error. */
  need(n: number, what: string): void {
    const end = this.position + n;
    if (end > this.file.size) {
      this.fail(`truncated file: ${what} needs bytes up to ${end} but the file has ${this.file.size}`);
    }
    if (end <= this.buffer.length) return;
    if (end > MAX_HEADER_BYTES) this.fail(`${what} would make the header larger than ${MAX_HEADER_BYTES} bytes: corrupt length?`);
    const size = Math.min(this.file.size, Math.max(end, 2 * this.buffer.length, FIRST_READ_BYTES));
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.buffer.length);
    readExactly(this.file, this.buffer.length, grown.subarray(this.buffer.length), "the GGUF header");
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buffer[this.position++];
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }

  /** A u64 used as a count, size or offset: must be a safe integer (anything larger is corrupt). */
  u64(what: string): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.position, true);
    const hi = this.view.getUint32(this.position + 4, true);
    this.position += 8;
    if (hi >= 0x200000) this.fail(`${what} is ${(BigInt(hi) << 32n) | BigInt(lo)}, far beyond the file size`);
    return hi * 0x100000000 + lo;
  }

  string(what: string): string {
    const length = this.u64(`the length of ${what}`);
    this.need(length, what);
    const s = this.buffer.toString("utf8", this.position, this.position + length);
    this.position += length;
    return s;
  }

  /** `count` strings in a row (a vocabulary): the hot loop of header parsing, so no per-item messages. */
  strings(count: number, what: string): string[] {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      if (this.position + 8 > this.buffer.length) this.need(8, `element ${i} of ${what}`);
      const lo = this.view.getUint32(this.position, true);
      const hi = this.view.getUint32(this.position + 4, true);
      const start = this.position + 8;
      if (hi !== 0 || start + lo > this.buffer.length) {
        this.position = start - 8;
        out[i] = this.string(`element ${i} of ${what}`); // the careful path: grows the buffer or fails
        continue;
      }
      out[i] = this.buffer.toString("utf8", start, start + lo);
      this.position = start + lo;
    }
    return out;
  }

  /** The DataView and offset of `n` fixed-size bytes, advancing past them (for bulk array reads). */
  take(n: number, what: string): { view: DataView; at: number } {
    this.need(n, what);
    const at = this.position;
    this.position += n;
    return { view: this.view, at };
  }
}
