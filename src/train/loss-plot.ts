import type { HistoryPoint } from "./checkpoint.js";

/**
 * The loss curve as a self-contained SVG: training loss per step (faint), its moving average
 * (solid) and validation loss at each evaluation (dots), with labelled axes.
 */
export function lossCurveSvg(history: HistoryPoint[], title: string, note = ""): string {
  const W = 720, H = 420, left = 60, right = 20, top = note ? 52 : 40, bottom = 50;
  const pw = W - left - right, ph = H - top - bottom;
  const train = history.filter((p) => Number.isFinite(p.loss));
  const val = history.filter((p) => p.valLoss !== undefined && Number.isFinite(p.valLoss));
  const maxStep = Math.max(1, ...history.map((p) => p.step));
  const losses = [...train.map((p) => p.loss), ...val.map((p) => p.valLoss!)];
  const yMax = losses.length ? Math.ceil(Math.max(...losses)) : 1;
  const yMin = losses.length ? Math.max(0, Math.floor(Math.min(...losses))) : 0;
  const x = (step: number): number => left + (step / maxStep) * pw;
  const y = (loss: number): number => top + (1 - (loss - yMin) / Math.max(1e-9, yMax - yMin)) * ph;
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  if (note) parts.push(`<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">${escapeXml(note)}</text>`);
  // grid and axes
  for (let v = yMin; v <= yMax; v += yMax - yMin > 6 ? 2 : yMax - yMin > 3 ? 1 : 0.5) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  const stepTick = niceStep(maxStep / 6);
  for (let s = 0; s <= maxStep; s += stepTick) {
    parts.push(`<line x1="${f(x(s))}" x2="${f(x(s))}" y1="${top + ph}" y2="${top + ph + 5}" stroke="#333"/>`);
    parts.push(`<text x="${f(x(s))}" y="${top + ph + 18}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + ph}" y2="${top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle">optimizer step</text>`);
  parts.push(`<text x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">cross-entropy (nats/token)</text>`);
  // curves
  if (train.length) {
    parts.push(`<polyline fill="none" stroke="#9ecae1" stroke-width="1" points="${train.map((p) => `${f(x(p.step))},${f(y(p.loss))}`).join(" ")}"/>`);
    // exponential moving average, bias-corrected as in Adam so that it does not lag at the start
    const smooth: string[] = [];
    let ema = 0;
    train.forEach((p, i) => {
      ema = 0.9 * ema + 0.1 * p.loss;
      smooth.push(`${f(x(p.step))},${f(y(ema / (1 - 0.9 ** (i + 1))))}`);
    });
    parts.push(`<polyline fill="none" stroke="#08519c" stroke-width="2" points="${smooth.join(" ")}"/>`);
  }
  if (val.length) {
    parts.push(`<polyline fill="none" stroke="#e6550d" stroke-width="1.5" stroke-dasharray="4 3" points="${val.map((p) => `${f(x(p.step))},${f(y(p.valLoss!))}`).join(" ")}"/>`);
    for (const p of val) parts.push(`<circle cx="${f(x(p.step))}" cy="${f(y(p.valLoss!))}" r="3" fill="#e6550d"/>`);
  }
  // legend
  const lx = W - right - 190, ly = top + 10;
  parts.push(`<rect x="${lx}" y="${ly}" width="180" height="58" fill="white" stroke="#ccc"/>`);
  parts.push(`<line x1="${lx + 10}" x2="${lx + 34}" y1="${ly + 15}" y2="${ly + 15}" stroke="#9ecae1"/><text x="${lx + 40}" y="${ly + 19}">train loss (per step)</text>`);
  parts.push(`<line x1="${lx + 10}" x2="${lx + 34}" y1="${ly + 31}" y2="${ly + 31}" stroke="#08519c" stroke-width="2"/><text x="${lx + 40}" y="${ly + 35}">train loss (EMA 0.9)</text>`);
  parts.push(`<circle cx="${lx + 22}" cy="${ly + 47}" r="3" fill="#e6550d"/><text x="${lx + 40}" y="${ly + 51}">validation loss</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
