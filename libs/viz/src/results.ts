import { AXIS, baseLayout, PALETTE, type Figure } from './figure';

/** The parts of a run record the result figures read (structural, so viz does not depend on experiments). */
export interface RecordLike {
  runId: string;
  identity: { config: { variant: string; seed: number } };
  history: Array<Record<string, number>>;
  metrics: { lfw: Array<{ protocol: string; mean: number; std: number }> };
}

const label = (r: RecordLike) => `${r.identity.config.variant} (seed ${r.identity.config.seed})`;

/** Training curves from run records: one panel per metric, one line per run. */
export function trainingCurvesFigure(records: RecordLike[], metrics: string[] = ['loss', 'accuracy', 'meanTargetAngle', 'meanFeatureNorm']): Figure {
  const data: Array<Record<string, unknown>> = [];
  records.forEach((r, i) => {
    metrics.forEach((metric, p) => {
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: label(r),
        legendgroup: r.runId,
        showlegend: p === 0,
        x: r.history.map((h) => h.iteration),
        y: r.history.map((h) => h[metric]),
        line: { color: PALETTE[i % PALETTE.length], width: 2 },
        xaxis: p === 0 ? 'x' : `x${p + 1}`,
        yaxis: p === 0 ? 'y' : `y${p + 1}`,
      });
    });
  });
  const layout = baseLayout('Training curves (from the run records)', {
    grid: { rows: Math.ceil(metrics.length / 2), columns: 2, pattern: 'independent' },
  });
  metrics.forEach((metric, p) => {
    const suffix = p === 0 ? '' : String(p + 1);
    layout[`xaxis${suffix}`] = { ...AXIS, title: { text: 'iteration' } };
    layout[`yaxis${suffix}`] = { ...AXIS, title: { text: metric } };
  });
  return { data, layout };
}

/**
 * LFW accuracy of each run under each protocol: one point per run (colour = variant, symbol = seed) beside the
 * other runs of the same protocol, with the run's std over the 10 folds as error bars; the y axis is zoomed to the
 * runs (not 0–100 %), so that differences of a point show. The paper's value is drawn as a line when it falls in
 * that range, and otherwise stated in a note (it would flatten the runs).
 */
export function protocolsFigure(records: RecordLike[], paper?: { lfw: number; label: string }): Figure {
  const protocols = [...new Set(records.flatMap((r) => r.metrics.lfw.map((p) => p.protocol)))];
  const variants = [...new Set(records.map((r) => r.identity.config.variant))];
  const seeds = [...new Set(records.map((r) => r.identity.config.seed))].sort((a, b) => a - b);
  const symbols = ['circle', 'square', 'diamond', 'triangle-up', 'triangle-down', 'cross', 'x', 'star'];
  const step = Math.min(0.8 / Math.max(records.length, 1), 0.12);
  const values: number[] = [];
  const data: Array<Record<string, unknown>> = records.map((r, i) => {
    const entry = (name: string) => r.metrics.lfw.find((p) => p.protocol === name);
    const y = protocols.map((name) => 100 * (entry(name)?.mean ?? Number.NaN));
    const std = protocols.map((name) => 100 * (entry(name)?.std ?? 0));
    y.forEach((v, p) => values.push(v - std[p], v + std[p]));
    const v = variants.indexOf(r.identity.config.variant);
    return {
      type: 'scatter',
      mode: 'markers',
      name: label(r),
      legendgroup: r.identity.config.variant,
      x: protocols.map((_, p) => p + (i - (records.length - 1) / 2) * step),
      y,
      error_y: { type: 'data', array: std, visible: true, thickness: 1, width: 2, color: PALETTE[v % PALETTE.length] },
      marker: { color: PALETTE[v % PALETTE.length], size: 8, symbol: symbols[seeds.indexOf(r.identity.config.seed) % symbols.length] },
    };
  });
  const finite = values.filter((v) => Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max(0.06 * (hi - lo), 0.25);
  const range = [lo - pad, hi + pad];
  const layout = baseLayout('LFW accuracy by protocol (same features; error bars: std over the LFW folds)', {
    xaxis: { ...AXIS, title: { text: 'protocol' }, tickvals: protocols.map((_, p) => p), ticktext: protocols, range: [-0.5, protocols.length - 0.5], zeroline: false },
    yaxis: { ...AXIS, title: { text: 'LFW accuracy (%)' }, range, ticksuffix: ' %', zeroline: false },
  });
  if (paper) {
    if (paper.lfw >= range[0] && paper.lfw <= range[1]) {
      layout.shapes = [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: paper.lfw, y1: paper.lfw, line: { color: '#444', dash: 'dash' } }];
      layout.annotations = [{ xref: 'paper', x: 1, y: paper.lfw, text: paper.label, showarrow: false, xanchor: 'right', yanchor: 'bottom' }];
    } else {
      const where = paper.lfw > range[1] ? 'above' : 'below';
      layout.annotations = [
        { xref: 'paper', yref: 'paper', x: 1, y: where === 'above' ? 1 : 0, xanchor: 'right', yanchor: where === 'above' ? 'top' : 'bottom', showarrow: false, text: `${paper.label} (${where} this zoomed axis)`, font: { size: 12, color: '#444' }, bgcolor: 'rgba(255,255,255,0.85)' },
      ];
    }
  }
  return { data, layout };
}

/**
 * Features on the unit circle (2-D) or sphere (3-D), one colour per identity, as in the paper's feature
 * figures. Rows of `features` are normalised for the plot; `dim` is 2 or 3.
 */
export function featuresFigure(features: ArrayLike<number>, labels: ArrayLike<number>, dim: 2 | 3, title: string): Figure {
  const n = labels.length;
  const byClass = new Map<number, number[][]>();
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: dim }, (_, k) => features[i * dim + k]);
    const norm = Math.hypot(...v) || 1;
    const list = byClass.get(labels[i]) ?? [];
    list.push(v.map((x) => x / norm));
    byClass.set(labels[i], list);
  }
  const data = [...byClass.entries()].map(([c, points], i) => ({
    type: dim === 2 ? 'scatter' : 'scatter3d',
    mode: 'markers',
    name: `identity ${c}`,
    x: points.map((p) => p[0]),
    y: points.map((p) => p[1]),
    ...(dim === 3 ? { z: points.map((p) => p[2]) } : {}),
    marker: { color: PALETTE[i % PALETTE.length], size: dim === 2 ? 6 : 3 },
  }));
  const layout =
    dim === 2
      ? baseLayout(title, { xaxis: { ...AXIS, range: [-1.1, 1.1] }, yaxis: { ...AXIS, range: [-1.1, 1.1], scaleanchor: 'x' } })
      : baseLayout(title, { scene: { aspectmode: 'cube', xaxis: { range: [-1, 1] }, yaxis: { range: [-1, 1] }, zaxis: { range: [-1, 1] } } });
  return { data, layout };
}
