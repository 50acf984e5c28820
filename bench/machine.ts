/** The machine a run was measured on, for the report. */
import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  /** 1-minute load average when the run started: how busy the (shared) CPU was. */
  loadAverage: number;
}

function lscpuModelName(): string | undefined {
  try {
    const out = execFileSync("lscpu", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").find((l) => l.startsWith("Model name:"))?.slice("Model name:".length).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(): Machine {
  return {
    cpu: lscpuModelName() ?? cpus()[0]?.model ?? "unknown CPU",
    cores: availableParallelism(),
    ramGiB: totalmem() / 2 ** 30,
    node: process.version,
    loadAverage: loadavg()[0] ?? 0,
  };
}
