/**
 * A tiny WebAssembly SIMD module, written out byte by byte, that sums f32 values in a shared
 * memory with four independent f32x4 accumulators — the fastest plain read a portable engine can
 * do, so the bandwidth it sees is the one a Node/browser engine can hope for. Its text form:
 *
 *   (module
 *     (import "env" "memory" (memory 1 65536 shared))
 *     (func (export "sum") (param $p i32) (param $end i32) (result f32)
 *       (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *       (loop $next
 *         a += load(p); b += load(p+16); c += load(p+32); d += load(p+48)   ;; f32x4.add
 *         p += 64
 *         (br_if $next (i32.lt_u p end)))
 *       a = a + b + c + d
 *       (f32.add (f32.add (f32.add lane0(a) lane1(a)) lane2(a)) lane3(a))))
 *
 * `end - p` must be a positive multiple of 64.
 */
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, I32_CONST = 0x41, I32_ADD = 0x6a, I32_LT_U = 0x49, BR_IF = 0x0d;
const LOOP = 0x03, END = 0x0b, VOID = 0x40, F32_ADD = 0x92;
const SIMD = 0xfd, V128_LOAD = 0x00, F32X4_EXTRACT_LANE = 0x1f;
const F32X4_ADD = [0xe4, 0x01]; // 228 as unsigned LEB128
const V128 = 0x7b, I32 = 0x7f, F32 = 0x7d;

/** local[acc] += v128.load(local[p] + offset) */
function accumulate(acc: number, offset: number): number[] {
  return [LOCAL_GET, acc, LOCAL_GET, 0, SIMD, V128_LOAD, 4, offset, SIMD, ...F32X4_ADD, LOCAL_SET, acc];
}

function section(id: number, body: number[]): number[] {
  if (body.length > 127) throw new Error("section too long for a one-byte size");
  return [id, body.length, ...body];
}

function name(text: string): number[] {
  return [text.length, ...[...text].map((c) => c.charCodeAt(0))];
}

export function sumModuleBytes(): Uint8Array {
  const code = [
    1, 4, V128, // one local group: four v128
    LOOP, VOID,
    ...accumulate(2, 0), ...accumulate(3, 16), ...accumulate(4, 32), ...accumulate(5, 48),
    LOCAL_GET, 0, I32_CONST, 0xc0, 0x00, I32_ADD, LOCAL_SET, 0, // p += 64 (signed LEB128)
    LOCAL_GET, 0, LOCAL_GET, 1, I32_LT_U, BR_IF, 0,
    END,
    LOCAL_GET, 2, LOCAL_GET, 3, SIMD, ...F32X4_ADD, LOCAL_GET, 4, SIMD, ...F32X4_ADD, LOCAL_GET, 5, SIMD, ...F32X4_ADD, LOCAL_SET, 2,
    LOCAL_GET, 2, SIMD, F32X4_EXTRACT_LANE, 0, LOCAL_GET, 2, SIMD, F32X4_EXTRACT_LANE, 1, F32_ADD,
    LOCAL_GET, 2, SIMD, F32X4_EXTRACT_LANE, 2, F32_ADD, LOCAL_GET, 2, SIMD, F32X4_EXTRACT_LANE, 3, F32_ADD,
    END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, I32, I32, 1, F32]),
    ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x03, 0x01, 0x80, 0x80, 0x04]), // shared, min 1, max 65536 pages
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("sum"), 0x00, 0]),
    ...section(10, [1, code.length, ...code]),
  ]);
}

export type SumFunction = (byteStart: number, byteEnd: number) => number;

// The little of the WebAssembly JS API used here (Node 20's type definitions leave the global out).
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Shared memory of at least `bytes` bytes (whole 64 KiB pages). */
export function sharedMemory(bytes: number): WasmMemory {
  return new wasmApi.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536, shared: true });
}

export function instantiateSum(memory: WasmMemory): SumFunction {
  const module = new wasmApi.Module(sumModuleBytes());
  const instance = new wasmApi.Instance(module, { env: { memory } });
  return instance.exports.sum as SumFunction;
}
