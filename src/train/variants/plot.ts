/** One named curve of a comparison plot. */
export interface Series {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
  dots?: boolean;
}

const f = (v: number): string => v.toFixed(1);

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/**
 * Several curves on shared axes as a self-contained SVG. The y range is [yMin, yMax] (points
 * outside it are clamped to the edge, so a divergence shows as a line along the top).
 */
export function comparisonSvg(
  series: Series[], o: { title: string; note?: string; xLabel: string; yLabel: string; yMin: number; yMax: number; xMax?: number },
): string {
  const W = 760, H = 440, left = 62, right = 20, top = o.note ? 54 : 40, bottom = 50;
  const pw = W - left - right, ph = H - top - bottom;
  const xMax = o.xMax ?? Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const x = (v: number): number => left + (v / xMax) * pw;
  const y = (v: number): number => {
    const c = Number.isFinite(v) ? Math.min(o.yMax, Math.max(o.yMin, v)) : o.yMax;
    return top + (1 - (c - o.yMin) / (o.yMax - o.yMin)) * ph;
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(o.title)}</text>`);
  if (o.note) out.push(`<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">${escapeXml(o.note)}</text>`);
  const yTick = niceStep((o.yMax - o.yMin) / 8);
  for (let v = Math.ceil(o.yMin / yTick) * yTick; v <= o.yMax + 1e-9; v += yTick) {
    out.push(`<line x1="${left}" x2="${W - right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  const xTick = niceStep(xMax / 8);
  for (let v = 0; v <= xMax + 1e-9; v += xTick) {
    out.push(`<line x1="${f(x(v))}" x2="${f(x(v))}" y1="${top + ph}" y2="${top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${f(x(v))}" y="${top + ph + 18}" text-anchor="middle">${+v.toFixed(2)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${W - right}" y1="${top + ph}" y2="${top + ph}" stroke="#333"/>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">${escapeXml(o.yLabel)}</text>`);
  for (const s of series) {
    const pts = s.points.map(([a, b]) => `${f(x(a))},${f(y(b))}`).join(" ");
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""} points="${pts}"/>`);
    if (s.dots) for (const [a, b] of s.points) out.push(`<circle cx="${f(x(a))}" cy="${f(y(b))}" r="3" fill="${s.color}"/>`);
  }
  const lx = W - right - 250, ly = top + 10;
  out.push(`<rect x="${lx}" y="${ly}" width="240" height="${12 + 18 * series.length}" fill="white" stroke="#ccc"/>`);
  series.forEach((s, i) => {
    const yy = ly + 16 + 18 * i;
    out.push(`<line x1="${lx + 10}" x2="${lx + 34}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    out.push(`<text x="${lx + 40}" y="${yy + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Bias-corrected exponential moving average (as in Adam), so the curve does not lag at the start. */
export function smoothed(values: number[], beta = 0.9): number[] {
  let ema = 0;
  return values.map((v, i) => {
    ema = beta * ema + (1 - beta) * v;
    return ema / (1 - beta ** (i + 1));
  });
}
