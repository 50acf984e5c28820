import { LoomError } from "../errors.js";
import { createMatrix, tensorToFloat32, type MatrixBackend, type MatrixOptions } from "../nn/create-matrix.js";
import type { RowMatrix } from "../nn/dense.js";
import { Linear } from "../nn/linear.js";
import { opsFor, type Ops } from "../nn/ops.js";
import { shapeString, type RawTensor } from "../tensor/tensor.js";
import type { WeightSource } from "../weights/source.js";

/** How a load turns tensors into a model's weights. */
export interface WeightOptions {
  /** Where matrices live and in which form (default: TypeScript, f32). */
  backend?: MatrixBackend;
  /**
   * The source's bytes are temporary (read only to be converted): vectors and tensors handed out
   * are copies, so nothing keeps the whole file in memory.
   */
  copyOut?: boolean;
}

/**
 * Fetches a model's tensors by name with the shapes the config implies. A missing tensor or a
 * wrong shape is a LoomError naming the file, the tensor and both shapes — never a silent misread.
 */
export class TensorLoader {
  /** The kernels and memory that go with the matrices' backend: the model's layers use them too. */
  readonly ops: Ops;

  constructor(readonly source: WeightSource, readonly options: WeightOptions = {}) {
    this.ops = opsFor(options.backend?.runtime);
  }

  has(name: string): boolean {
    return this.source.has(name);
  }

  /** The tensor, checked against `shape` (row-major, outermost first). */
  tensor(name: string, shape: number[]): RawTensor {
    const raw = this.find(name, shape);
    return this.options.copyOut ? { ...raw, bytes: raw.bytes.slice() } : raw;
  }

  private find(name: string, shape: number[]): RawTensor {
    if (!this.source.has(name)) {
      throw new LoomError(`${this.source.origin}: missing tensor '${name}' (expected shape ${shapeString(shape)})`);
    }
    const raw = this.source.get(name);
    const same = raw.shape.length === shape.length && raw.shape.every((d, i) => d === shape[i]);
    if (!same) {
      throw new LoomError(
        `${this.source.origin}: tensor '${name}' has shape ${shapeString(raw.shape)}, expected ${shapeString(shape)}`,
      );
    }
    return raw;
  }

  /** W (rows, cols); with `transposed`, the file holds it as (cols, rows). */
  matrix(name: string, rows: number, cols: number, options: MatrixOptions = {}): RowMatrix {
    const raw = this.find(name, options.transposed ? [cols, rows] : [rows, cols]);
    return createMatrix(raw, { origin: this.source.origin, backend: this.options.backend, ...options });
  }

  vector(name: string, length: number): Float32Array {
    const values = tensorToFloat32(this.find(name, [length]));
    return this.options.copyOut ? values.slice() : values;
  }

  /** `${base}.weight` (rows, cols), and `${base}.bias` (rows) when `bias` says so. */
  linear(base: string, rows: number, cols: number, bias: boolean, options: MatrixOptions = {}): Linear {
    const weight = this.matrix(`${base}.weight`, rows, cols, options);
    return new Linear(weight, bias ? this.vector(`${base}.bias`, rows) : undefined, this.ops);
  }
}

/** Rows of a GGUF file's token_embd tensor, after checking its width. */
export function ggufVocabSize(source: WeightSource, hiddenSize: number): number {
  const name = "token_embd.weight";
  if (!source.has(name)) throw new LoomError(`${source.origin}: missing tensor '${name}'`);
  const shape = source.get(name).shape;
  if (shape.length !== 2 || shape[1] !== hiddenSize) {
    throw new LoomError(`${source.origin}: tensor '${name}' has shape [${shape.join(", ")}], expected [vocab, ${hiddenSize}]`);
  }
  return shape[0];
}
