/**
 * A log-log line chart as a standalone SVG, written by hand (no dependency): enough for "pause vs
 * state size" plots in benchmarks/results/. Points with a non-positive value are left out (a log
 * axis has no place for them).
 */

export interface Series {
  name: string;
  color: string;
  points: Array<{ x: number; y: number; label?: string }>;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference lines, e.g. a bare worker start. */
  references?: Array<{ name: string; y: number; color: string }>;
  formatX(x: number): string;
  formatY(y: number): string;
  /** Appended to a value in the legend, e.g. "ms". */
  yUnit?: string;
}

const W = 820;
const H = 480;
const M = { left: 70, right: 260, top: 58, bottom: 52 };

export function logLogChart(o: ChartOptions): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p.y)), ...(o.references ?? []).map((r) => r.y)].filter((y) => y > 0);
  const [x0, x1] = decades(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = decades(Math.min(...ys), Math.max(...ys));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => M.left + ((Math.log10(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => M.top + ph - ((Math.log10(y) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="15" font-weight="600">${esc(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${M.left}" y="40" fill="#555">${esc(o.subtitle)}</text>`);
  // Grid: one line per decade, labelled.
  for (let d = x0; d <= x1; d++) {
    const x = sx(10 ** d);
    out.push(`<line x1="${f(x)}" y1="${M.top}" x2="${f(x)}" y2="${M.top + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f(x)}" y="${M.top + ph + 18}" text-anchor="middle" fill="#333">${esc(o.formatX(10 ** d))}</text>`);
  }
  for (let d = y0; d <= y1; d++) {
    const y = sy(10 ** d);
    out.push(`<line x1="${M.left}" y1="${f(y)}" x2="${M.left + pw}" y2="${f(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(y + 4)}" text-anchor="end" fill="#333">${esc(o.formatY(10 ** d))}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  let legendY = M.top + 6;
  const legend = (name: string, color: string, dashed: boolean): void => {
    const lx = M.left + pw + 16;
    out.push(`<line x1="${lx}" y1="${legendY}" x2="${lx + 24}" y2="${legendY}" stroke="${color}" stroke-width="2.5"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 30}" y="${legendY + 4}">${esc(name)}</text>`);
    legendY += 20;
  };
  for (const r of o.references ?? []) {
    const y = sy(r.y);
    out.push(`<line x1="${M.left}" y1="${f(y)}" x2="${M.left + pw}" y2="${f(y)}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="2 4"/>`);
    legend(`${r.name} (${o.formatY(r.y)}${o.yUnit ? ` ${o.yUnit}` : ''})`, r.color, true);
  }
  for (const s of o.series) {
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0);
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) {
      out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${p.label ?? o.formatY(p.y)}`)}</title></circle>`);
    }
    legend(s.name, s.color, s.dashed === true);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Whole decades enclosing [min, max]. */
function decades(min: number, max: number): [number, number] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  return [lo, hi === lo ? lo + 1 : hi];
}

function f(n: number): string {
  return n.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
