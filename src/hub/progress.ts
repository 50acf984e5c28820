// A download progress bar for the CLI (cli-progress), one bar per file; silent when stderr is not a terminal.
import cliProgress from "cli-progress";
import type { DownloadProgress } from "./download.js";

export interface DownloadProgressOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Default: on when the stream is a TTY and HF_HUB_DISABLE_PROGRESS_BARS is not set. */
  enabled?: boolean;
}

const UNITS = ["B", "kB", "MB", "GB", "TB"];

/** 1234567 → "1.2 MB" (decimal units, like tqdm's unit_scale in huggingface_hub). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** A name that fits the bar's label: long paths keep their end. */
function label(filename: string): string {
  return filename.length > 24 ? `…${filename.slice(-23)}` : filename.padEnd(24);
}

/** Returns an `onProgress` callback for hfHubDownload / resolveModelFiles. */
export function createDownloadProgress(options: DownloadProgressOptions = {}): (progress: DownloadProgress) => void {
  const stream = options.stream ?? process.stderr;
  const disabledByEnv = ["1", "ON", "YES", "TRUE"].includes((process.env.HF_HUB_DISABLE_PROGRESS_BARS ?? "").toUpperCase());
  const enabled = options.enabled ?? (stream.isTTY === true && !disabledByEnv);
  if (!enabled) return () => {};

  let bar: cliProgress.SingleBar | undefined;
  let current = "";
  let startedAt = 0;
  let startBytes = 0;
  return (progress) => {
    const key = `${progress.repoId}/${progress.filename}`;
    if (!bar || key !== current) {
      startedAt = Date.now();
      startBytes = progress.downloadedBytes; // a resumed download starts part-way
    }
    const total = Math.max(progress.totalBytes ?? progress.downloadedBytes, 1);
    const seconds = (Date.now() - startedAt) / 1000;
    const bytesPerSecond = seconds > 0.5 ? (progress.downloadedBytes - startBytes) / seconds : 0;
    const payload = {
      file: label(progress.filename),
      done: formatBytes(progress.downloadedBytes),
      size: progress.totalBytes === undefined ? "?" : formatBytes(progress.totalBytes),
      speed: bytesPerSecond > 0 ? `${formatBytes(Math.round(bytesPerSecond))}/s` : "",
    };
    if (!bar || key !== current) {
      bar?.stop();
      current = key;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: "{file} |{bar}| {percentage}% {done}/{size} {speed}",
          barCompleteChar: "█",
          barIncompleteChar: "░",
          hideCursor: true,
          noTTYOutput: options.enabled === true && stream.isTTY !== true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, progress.downloadedBytes, payload);
    }
    bar.setTotal(total);
    bar.update(progress.downloadedBytes, payload);
    if (progress.done) {
      bar.stop();
      bar = undefined;
      current = "";
    }
  };
}
