/** One thread of the bandwidth measurement: sums its slice of the shared memory on each "go". */
import { parentPort, workerData } from "node:worker_threads";
import { instantiateSum, type WasmMemory } from "./sum-wasm.js";

const { memory, start, end } = workerData as { memory: WasmMemory; start: number; end: number };
const sum = instantiateSum(memory);
parentPort!.on("message", (message: string) => {
  if (message === "go") parentPort!.postMessage(sum(start, end));
  else process.exit(0);
});
parentPort!.postMessage("ready");
