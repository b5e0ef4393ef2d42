/** Small inline-SVG charts for the self-contained HTML report: no scripts, no external assets. */

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** 1, 2 or 5 times a power of ten, so that about `count` steps span `range`. */
export function niceStep(range: number, count = 5): number {
  if (!(range > 0)) return 1;
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** @param minStep the smallest step worth a tick: 1 for an axis that counts things. */
export function ticks(min: number, max: number, count = 5, minStep = 0): number[] {
  const step = Math.max(minStep, niceStep(max - min, count));
  const first = Math.ceil(min / step) * step;
  const values: number[] = [];
  for (let value = first; value <= max + step * 1e-9; value += step) values.push(Number(value.toPrecision(12)));
  return values;
}

const label = (value: number): string => (Math.abs(value) >= 1000 ? `${+(value / 1000).toFixed(1)}k` : `${+value.toFixed(2)}`);

export interface Series {
  name: string;
  /** [x, y]; a null y breaks the line. */
  points: [number, number | null][];
  color?: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  /** The x axis counts things (participants, not seconds): ticks only on whole numbers. */
  integerX?: boolean;
  /** Vertical markers, e.g. where the steady window starts. */
  markers?: { x: number; label: string }[];
  /** Horizontal reference lines, e.g. a threshold. */
  references?: { y: number; label: string }[];
}

interface Frame {
  svg: string[];
  x: (value: number) => number;
  y: (value: number) => number;
}

const MARGIN = { left: 56, right: 16, top: 44, bottom: 44 };

function frame(options: ChartOptions, xRange: [number, number], yRange: [number, number], legend: { name: string; color: string; dashed?: boolean }[]): Frame {
  const width = options.width ?? 640;
  const height = options.height ?? 260;
  const [x0, x1] = xRange[1] > xRange[0] ? xRange : [xRange[0], xRange[0] + 1];
  const [y0, y1] = yRange[1] > yRange[0] ? yRange : [yRange[0], yRange[0] + 1];
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const x = (value: number): number => MARGIN.left + ((value - x0) / (x1 - x0)) * plotWidth;
  const y = (value: number): number => MARGIN.top + plotHeight - ((value - y0) / (y1 - y0)) * plotHeight;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<text x="${MARGIN.left}" y="16" font-size="13" font-weight="600">${escapeXml(options.title)}</text>`,
  ];
  for (const value of ticks(y0, y1)) {
    svg.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e5e7eb"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end" fill="#4b5563">${label(value)}</text>`,
    );
  }
  for (const value of ticks(x0, x1, 8, options.integerX ? 1 : 0)) {
    svg.push(`<text x="${x(value).toFixed(1)}" y="${height - MARGIN.bottom + 16}" text-anchor="middle" fill="#4b5563">${label(value)}</text>`);
  }
  svg.push(
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#9ca3af"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" fill="#374151">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${escapeXml(options.yLabel)}</text>`,
  );
  for (const marker of options.markers ?? []) {
    if (marker.x < x0 || marker.x > x1) continue;
    svg.push(
      `<line x1="${x(marker.x).toFixed(1)}" x2="${x(marker.x).toFixed(1)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#6b7280" stroke-dasharray="3 3"/>`,
      `<text x="${(x(marker.x) + 4).toFixed(1)}" y="${MARGIN.top + 10}" fill="#6b7280">${escapeXml(marker.label)}</text>`,
    );
  }
  for (const reference of options.references ?? []) {
    if (reference.y < y0 || reference.y > y1) continue;
    svg.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(reference.y).toFixed(1)}" y2="${y(reference.y).toFixed(1)}" stroke="#dc2626" stroke-dasharray="6 3"/>`,
      `<text x="${width - MARGIN.right - 4}" y="${(y(reference.y) - 4).toFixed(1)}" text-anchor="end" fill="#dc2626">${escapeXml(reference.label)}</text>`,
    );
  }
  let legendX = width - MARGIN.right;
  for (const entry of [...legend].reverse()) {
    const textWidth = entry.name.length * 6.5 + 36;
    legendX -= textWidth;
    svg.push(
      `<line x1="${legendX}" x2="${legendX + 16}" y1="30" y2="30" stroke="${entry.color}" stroke-width="2.5"${entry.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${legendX + 20}" y="34" fill="#374151">${escapeXml(entry.name)}</text>`,
    );
  }
  return { svg, x, y };
}

function extent(values: number[], fallback: [number, number]): [number, number] {
  return values.length ? [Math.min(...values), Math.max(...values)] : fallback;
}

export function lineChart(options: ChartOptions, series: Series[]): string {
  const colored = series.map((entry, i) => ({ ...entry, color: entry.color ?? PALETTE[i % PALETTE.length]! }));
  const xs = colored.flatMap((entry) => entry.points.map(([x]) => x));
  const ys = colored.flatMap((entry) => entry.points.flatMap(([, y]) => (y === null ? [] : [y])));
  const [yLow, yHigh] = extent([...ys, ...(options.references ?? []).map((reference) => reference.y)], [0, 1]);
  const yMax = options.yMax ?? yHigh + niceStep(yHigh - Math.min(yLow, options.yMin ?? yLow)) * 0.5;
  const chart = frame(options, extent(xs, [0, 1]), [options.yMin ?? Math.min(0, yLow), yMax], colored);
  for (const entry of colored) {
    let path = '';
    let pen = false;
    for (const [x, y] of entry.points) {
      if (y === null) {
        pen = false;
        continue;
      }
      path += `${pen ? 'L' : 'M'}${chart.x(x).toFixed(1)} ${chart.y(Math.min(y, yMax)).toFixed(1)}`;
      pen = true;
    }
    if (path) {
      chart.svg.push(
        `<path d="${path}" fill="none" stroke="${entry.color}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="5 3"' : ''} stroke-linejoin="round"/>`,
      );
    }
    if (entry.points.length === 1 && entry.points[0]![1] !== null) {
      const [x, y] = entry.points[0]! as [number, number];
      chart.svg.push(`<circle cx="${chart.x(x).toFixed(1)}" cy="${chart.y(y).toFixed(1)}" r="3" fill="${entry.color}"/>`);
    }
  }
  chart.svg.push('</svg>');
  return chart.svg.join('');
}

/** Counts of `values` in equal bins. */
export function histogramBins(values: number[], binCount = 12): { from: number; to: number; count: number }[] {
  if (values.length === 0) return [];
  const low = Math.min(...values);
  const high = Math.max(...values);
  const width = niceStep(high - low || Math.max(1, high), binCount);
  const start = Math.floor(low / width) * width;
  const bins = Array.from({ length: Math.max(1, Math.floor((high - start) / width) + 1) }, (_, i) => ({
    from: start + i * width,
    to: start + (i + 1) * width,
    count: 0,
  }));
  for (const value of values) bins[Math.min(bins.length - 1, Math.floor((value - start) / width))]!.count++;
  return bins;
}

export function histogram(options: ChartOptions, values: number[], color = PALETTE[0]!): string {
  const bins = histogramBins(values);
  const top = Math.max(1, ...bins.map((bin) => bin.count));
  const chart = frame(options, bins.length ? [bins[0]!.from, bins.at(-1)!.to] : [0, 1], [0, top + Math.max(1, Math.round(top * 0.1))], []);
  for (const bin of bins) {
    const x = chart.x(bin.from) + 1;
    const width = Math.max(1, chart.x(bin.to) - chart.x(bin.from) - 2);
    chart.svg.push(
      `<rect x="${x.toFixed(1)}" y="${chart.y(bin.count).toFixed(1)}" width="${width.toFixed(1)}" height="${(chart.y(0) - chart.y(bin.count)).toFixed(1)}" fill="${color}" opacity="0.8"><title>${label(bin.from)}–${label(bin.to)}: ${bin.count}</title></rect>`,
    );
  }
  chart.svg.push('</svg>');
  return chart.svg.join('');
}

/** Share of values ≤ x, as a step line per series (for comparing distributions of any size). */
export function cdfSeries(name: string, values: number[], color?: string): Series {
  const sorted = [...values].sort((a, b) => a - b);
  const points: [number, number][] = sorted.flatMap((value, i): [number, number][] => [
    [value, (100 * i) / sorted.length],
    [value, (100 * (i + 1)) / sorted.length],
  ]);
  return { name, points, ...(color ? { color } : {}) };
}

/** Points that share an x as one (their ys combined), in x order: a curve against a count rather than time. */
export function alongX(points: [number, number | null][], combine: (values: number[]) => number | null): [number, number | null][] {
  const byX = new Map<number, number[]>();
  for (const [x, y] of points) {
    const values = byX.get(x) ?? [];
    if (y !== null) values.push(y);
    byX.set(x, values);
  }
  return [...byX.entries()].sort(([a], [b]) => a - b).map(([x, values]): [number, number | null] => [x, values.length ? combine(values) : null]);
}
