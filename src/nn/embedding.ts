import { LoomError } from "../errors.js";
import type { RowMatrix } from "./dense.js";

/** A lookup table (vocab, dim): row i is the vector for id i. */
export class Embedding {
  constructor(readonly table: RowMatrix) {}

  get count(): number { return this.table.rows; }
  get dim(): number { return this.table.cols; }

  /** out (ids.length, dim): one row per id. */
  forward(out: Float32Array, ids: ArrayLike<number>): void {
    for (let t = 0; t < ids.length; t++) this.lookup(out, t, ids[t]);
  }

  /** Writes row `id` into row `t` of out. */
  lookup(out: Float32Array, t: number, id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.table.rows) {
      throw new LoomError(`id ${id} is outside the embedding table of ${this.table.rows} rows`);
    }
    this.table.readRow(id, out, t * this.table.cols);
  }
}
