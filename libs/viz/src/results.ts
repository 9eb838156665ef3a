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

/** LFW accuracy of each run under each protocol, grouped by protocol, with the paper's value when given. */
export function protocolsFigure(records: RecordLike[], paper?: { lfw: number; label: string }): Figure {
  const protocols = [...new Set(records.flatMap((r) => r.metrics.lfw.map((p) => p.protocol)))];
  const data: Array<Record<string, unknown>> = records.map((r, i) => ({
    type: 'bar',
    name: label(r),
    x: protocols,
    y: protocols.map((name) => 100 * (r.metrics.lfw.find((p) => p.protocol === name)?.mean ?? Number.NaN)),
    error_y: { type: 'data', array: protocols.map((name) => 100 * (r.metrics.lfw.find((p) => p.protocol === name)?.std ?? 0)), visible: true },
    marker: { color: PALETTE[i % PALETTE.length] },
  }));
  const layout = baseLayout('LFW accuracy by protocol (same features)', {
    barmode: 'group',
    xaxis: { ...AXIS, title: { text: 'protocol' } },
    yaxis: { ...AXIS, title: { text: 'accuracy (%)' } },
  });
  if (paper) {
    layout.shapes = [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: paper.lfw, y1: paper.lfw, line: { color: '#444', dash: 'dash' } }];
    layout.annotations = [{ xref: 'paper', x: 1, y: paper.lfw, text: paper.label, showarrow: false, xanchor: 'right', yanchor: 'bottom' }];
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
