import { AXIS, baseLayout, PALETTE, type Figure } from './figure';

/**
 * Figures that show the size of an effect rather than the level of accuracy (issue #15): paired differences with
 * their intervals (a forest plot), accuracy per variant with every seed's point, and accuracy against depth. They
 * take plain numbers and labels (computed from run records by the caller), so each can be tested on known values.
 */

/** A mean with a two-sided interval (e.g. a 95 % Student-t interval) and the number of values behind it. */
export interface Estimate {
  mean: number;
  interval: [number, number];
  n: number;
}

/** One comparison (treatment − control) of a forest plot. Values are in the figure's unit (percentage points). */
export interface ForestRow {
  /** What is compared, e.g. 'a-softmax-m4 − softmax'. */
  label: string;
  /** Number of training seeds paired. */
  seeds: number;
  /** One difference per seed, interval over seeds; null with one seed (no interval: the point is drawn alone). */
  perSeed: Estimate | null;
  /** One difference per (seed, LFW fold) pair, interval over the pairs. */
  perFold: Estimate;
}

export interface ForestPanel {
  title: string;
  rows: ForestRow[];
}

export interface ForestOptions {
  title?: string;
  /** The unit of every value, used as each panel's x-axis title. */
  unit?: string;
  /** Confidence level of the intervals, for the legend (default 0.95). */
  confidence?: number;
}

/** Accuracy of one variant: every seed's value and the mean over seeds with its interval. Values in %. */
export interface SeedGroup {
  label: string;
  seeds: number[];
  values: number[];
  mean: number;
  /** Interval of the mean over seeds; null with fewer than 2 seeds. */
  interval: [number, number] | null;
}

export interface SeedAccuracyOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  confidence?: number;
}

/** One loss (or other setting) across depths; depths without runs are simply absent from `points`. */
export interface DepthSeries {
  name: string;
  /** Said in the legend after the name, e.g. where some of the points come from. */
  note?: string;
  points: Array<Omit<SeedGroup, 'label'> & { depth: number }>;
}

export interface DepthAccuracyOptions {
  title?: string;
  yTitle?: string;
  confidence?: number;
  /** Tick label of a depth (default `SphereFace-<depth>`). */
  depthLabel?: (depth: number) => string;
}

const SEED_SYMBOLS = ['circle', 'square', 'diamond', 'triangle-up', 'triangle-down', 'cross', 'x', 'star'];
const percent = (confidence: number) => `${Math.round(confidence * 1000) / 10} %`;
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

/**
 * An axis range around `values` (not from 0): the data's span padded by `padShare` of it on each side, and at
 * least `minSpan` wide, so that differences of a fraction of a point stay visible.
 */
export function zoomedRange(values: number[], options: { padShare?: number; minSpan?: number; include?: number[] } = {}): [number, number] {
  const all = [...values, ...(options.include ?? [])].filter((v) => Number.isFinite(v));
  if (all.length === 0) throw new Error('zoomedRange: no finite values');
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  const pad = (options.padShare ?? 0.08) * (hi - lo);
  lo -= pad;
  hi += pad;
  const minSpan = options.minSpan ?? 1;
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  return [lo, hi];
}

/** plotly's asymmetric error bars from intervals around means (0 where there is no interval). */
function errorBars(means: number[], intervals: Array<[number, number] | null>, style: Record<string, unknown>) {
  return {
    type: 'data',
    symmetric: false,
    array: intervals.map((iv, i) => (iv ? iv[1] - means[i] : 0)),
    arrayminus: intervals.map((iv, i) => (iv ? means[i] - iv[0] : 0)),
    visible: true,
    ...style,
  };
}

const axisId = (k: number) => (k === 0 ? '' : String(k + 1));

/**
 * A forest plot of paired differences: one panel per group of comparisons (each with its own x axis, since the
 * effects differ in size), one row per comparison, the per-seed mean difference with its interval over seeds
 * (dark) above the per-(seed, fold) one (light), a line at zero, and each row's per-seed value written at the
 * right. Row labels state n (seeds and seed × fold pairs).
 */
export function pairedDifferenceFigure(panels: ForestPanel[], options: ForestOptions = {}): Figure {
  const confidence = options.confidence ?? 0.95;
  const unit = options.unit ?? 'difference (percentage points of LFW accuracy)';
  const used = panels.filter((p) => p.rows.length > 0);
  if (used.length === 0) throw new Error('pairedDifferenceFigure: no rows to plot');
  const data: Array<Record<string, unknown>> = [];
  const layout = baseLayout(options.title ?? 'Paired differences in LFW accuracy', {
    margin: { l: 70, r: 190, t: 80, b: 110 },
    legend: { orientation: 'h', x: 0, y: 0.005, yref: 'container', yanchor: 'bottom', xanchor: 'left', bgcolor: 'rgba(255,255,255,0)' },
    showlegend: true,
  });
  const shapes: Array<Record<string, unknown>> = [];
  const annotations: Array<Record<string, unknown>> = [];
  // Vertical space: each panel gets a share proportional to its rows; the gap holds an x-axis title and a panel title.
  const gap = 0.1;
  const rows = used.reduce((a, p) => a + p.rows.length, 0);
  const available = 1 - gap * (used.length - 1);
  let top = 1;
  used.forEach((panel, k) => {
    const id = axisId(k);
    const height = (available * panel.rows.length) / rows;
    const domain = [Math.max(0, top - height), top];
    top -= height + gap;
    const n = panel.rows.length;
    const position = panel.rows.map((_, i) => n - 1 - i); // first row on top
    const seedMeans = panel.rows.map((r) => r.perSeed?.mean ?? r.perFold.mean);
    const foldMeans = panel.rows.map((r) => r.perFold.mean);
    const common = { type: 'scatter', mode: 'markers', xaxis: `x${id}`, yaxis: `y${id}`, showlegend: k === 0, hoverinfo: 'skip' };
    data.push({
      ...common,
      name: `per seed: mean, ${percent(confidence)} CI over training seeds`,
      legendgroup: 'seed',
      x: seedMeans,
      y: position.map((y) => y + 0.17),
      error_x: errorBars(seedMeans, panel.rows.map((r) => r.perSeed?.interval ?? null), { color: '#1f3b73', thickness: 2.5, width: 6 }),
      marker: { color: '#1f3b73', size: 10, symbol: 'circle' },
    });
    data.push({
      ...common,
      name: `per fold: mean, ${percent(confidence)} CI over (seed, LFW fold) pairs (folds treated as independent)`,
      legendgroup: 'fold',
      x: foldMeans,
      y: position.map((y) => y - 0.17),
      error_x: errorBars(foldMeans, panel.rows.map((r) => r.perFold.interval), { color: '#9db8d9', thickness: 2, width: 4 }),
      marker: { color: '#9db8d9', size: 8, symbol: 'diamond' },
    });
    const ends = panel.rows.flatMap((r) => [...r.perFold.interval, ...(r.perSeed ? r.perSeed.interval : [r.perFold.mean])]);
    const range = zoomedRange(ends, { include: [0], padShare: 0.06, minSpan: 0.5 });
    layout[`xaxis${id}`] = { ...AXIS, anchor: `y${id}`, domain: [0, 1], range, zeroline: false, title: { text: unit, standoff: 6, font: { size: 12 } } };
    layout[`yaxis${id}`] = {
      ...AXIS,
      anchor: `x${id}`,
      domain,
      range: [-0.6, n - 0.4],
      tickvals: position,
      ticktext: panel.rows.map((r) => `${r.label}<br><span style="font-size:11px;color:#555">${r.seeds} seed${r.seeds === 1 ? '' : 's'}; ${r.perFold.n} seed × fold pairs</span>`),
      showgrid: false,
      zeroline: false,
      automargin: true,
    };
    shapes.push({ type: 'line', xref: `x${id}`, yref: `y${id} domain`, x0: 0, x1: 0, y0: 0, y1: 1, line: { color: '#444', width: 1.5, dash: 'dash' } });
    annotations.push({ xref: 'paper', yref: 'paper', x: 0, y: domain[1], xanchor: 'left', yanchor: 'bottom', showarrow: false, text: `<b>${panel.title}</b>`, font: { size: 14 } });
    annotations.push({ xref: 'paper', yref: 'paper', x: 1.01, y: domain[1], xanchor: 'left', yanchor: 'bottom', showarrow: false, text: 'per seed [CI]', font: { size: 11, color: '#555' } });
    panel.rows.forEach((r, i) => {
      const text = r.perSeed ? `${signed(r.perSeed.mean)} [${signed(r.perSeed.interval[0])}, ${signed(r.perSeed.interval[1])}]` : `${signed(r.perFold.mean)} (1 seed: no CI)`;
      annotations.push({ xref: 'paper', yref: `y${id}`, x: 1.01, y: position[i], xanchor: 'left', showarrow: false, text, font: { size: 12, color: '#1f3b73' } });
    });
  });
  layout.shapes = shapes;
  layout.annotations = annotations;
  return { data, layout };
}

/**
 * Accuracy of each variant (x, in the given order) with every seed's value — one colour and symbol per seed, a
 * thin line joining a seed's runs so that the pairing shows — and the mean over seeds with its interval. The y
 * axis is zoomed to the data.
 */
export function seedAccuracyFigure(groups: SeedGroup[], options: SeedAccuracyOptions = {}): Figure {
  if (groups.length === 0) throw new Error('seedAccuracyFigure: no groups');
  const confidence = options.confidence ?? 0.95;
  const seeds = [...new Set(groups.flatMap((g) => g.seeds))].sort((a, b) => a - b);
  const spread = 0.05;
  const data: Array<Record<string, unknown>> = seeds.map((seed, j) => {
    const at = groups.flatMap((g, i) => (g.seeds.includes(seed) ? [{ i, value: g.values[g.seeds.indexOf(seed)] }] : []));
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: `seed ${seed}`,
      x: at.map((p) => p.i - 0.12 + (j - (seeds.length - 1) / 2) * spread),
      y: at.map((p) => p.value),
      line: { color: PALETTE[j % PALETTE.length], width: 1, dash: 'dot' },
      marker: { color: PALETTE[j % PALETTE.length], size: 8, symbol: SEED_SYMBOLS[j % SEED_SYMBOLS.length] },
      opacity: 0.8,
    };
  });
  const means = groups.map((g) => g.mean);
  data.push({
    type: 'scatter',
    mode: 'markers',
    name: `mean over seeds, ${percent(confidence)} CI (Student t)`,
    x: groups.map((_, i) => i + 0.18),
    y: means,
    error_y: errorBars(means, groups.map((g) => g.interval), { color: '#222', thickness: 2, width: 7 }),
    marker: { color: '#222', size: 11, symbol: 'diamond' },
  });
  const range = zoomedRange([...groups.flatMap((g) => g.values), ...groups.flatMap((g) => g.interval ?? [])]);
  const layout = baseLayout(options.title ?? 'LFW accuracy per variant, every seed', {
    xaxis: { ...AXIS, title: { text: options.xTitle ?? '' }, tickvals: groups.map((_, i) => i), ticktext: groups.map((g) => g.label), range: [-0.5, groups.length - 0.5], zeroline: false },
    yaxis: { ...AXIS, title: { text: options.yTitle ?? 'LFW accuracy (%)' }, range, ticksuffix: ' %', zeroline: false },
  });
  return { data, layout };
}

/**
 * Accuracy against network depth, one colour per series (e.g. loss): every seed's value (small, open) and the
 * mean with its interval, joined across the depths that have runs. A series without runs at some depths says so
 * in its legend entry; nothing is drawn there.
 */
export function depthAccuracyFigure(series: DepthSeries[], depths: number[], options: DepthAccuracyOptions = {}): Figure {
  if (series.every((s) => s.points.length === 0)) throw new Error('depthAccuracyFigure: no points');
  const confidence = options.confidence ?? 0.95;
  const label = options.depthLabel ?? ((d: number) => `SphereFace-${d}`);
  const data: Array<Record<string, unknown>> = [];
  const annotations: Array<Record<string, unknown>> = [];
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const offset = (k - (series.length - 1) / 2) * 0.22;
    const points = [...s.points].filter((p) => depths.includes(p.depth)).sort((a, b) => depths.indexOf(a.depth) - depths.indexOf(b.depth));
    const missing = depths.filter((d) => !points.some((p) => p.depth === d));
    const note = `${s.note ? ` (${s.note})` : ''}${missing.length ? ` — ${missing.map(label).join(', ')}: not recorded yet` : ''}`;
    const x = points.map((p) => depths.indexOf(p.depth) + offset);
    // Where a series has no runs, say so in the plot, at the place its point would be.
    for (const d of missing) {
      annotations.push({ xref: 'x', yref: 'y domain', x: depths.indexOf(d) + offset, y: 0.03 + 0.07 * k, text: `${s.name}: not recorded yet`, showarrow: false, font: { size: 11, color } });
    }
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${s.name}: per seed`,
      legendgroup: s.name,
      // Each seed just left of its mean, spread a little so that equal values stay apart.
      x: points.flatMap((p, i) => p.values.map((_, j) => x[i] - 0.06 + (j - (p.values.length - 1) / 2) * 0.02)),
      y: points.flatMap((p) => p.values),
      marker: { color, size: 7, symbol: 'circle-open', line: { width: 1.5 } },
    });
    const means = points.map((p) => p.mean);
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${s.name}: mean, ${percent(confidence)} CI over seeds${note}`,
      legendgroup: s.name,
      x,
      y: means,
      error_y: errorBars(means, points.map((p) => p.interval), { color, thickness: 2, width: 7 }),
      line: { color, width: 2 },
      marker: { color, size: 11 },
    });
  });
  const range = zoomedRange(series.flatMap((s) => s.points.flatMap((p) => [...p.values, ...(p.interval ?? [])])));
  const layout = baseLayout(options.title ?? 'LFW accuracy against depth', {
    xaxis: { ...AXIS, title: { text: 'network' }, tickvals: depths.map((_, i) => i), ticktext: depths.map(label), range: [-0.5, depths.length - 0.5], zeroline: false },
    yaxis: { ...AXIS, title: { text: options.yTitle ?? 'LFW accuracy (%)' }, range, ticksuffix: ' %', zeroline: false },
    legend: { orientation: 'h', x: 0, y: -0.15, xanchor: 'left', yanchor: 'top', bgcolor: 'rgba(255,255,255,0)' },
    margin: { l: 80, r: 30, t: 60, b: 130 },
    annotations,
  });
  return { data, layout };
}
