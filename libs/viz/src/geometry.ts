import { lambdaAt, psi, type LambdaOption } from '@sphereface/loss';
import { AXIS, baseLayout, PALETTE, type Figure } from './figure';

const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const DEG = 180 / Math.PI;

/** ψ(θ) for the given margins beside cos θ (the paper's target-logit function). */
export function psiFigure(margins: number[] = [1, 2, 3, 4], points = 721): Figure {
  const theta = linspace(0, Math.PI, points);
  return {
    data: margins.map((m, i) => ({
      type: 'scatter',
      mode: 'lines',
      name: m === 1 ? 'm = 1: cos θ' : `m = ${m}`,
      x: theta.map((t) => t * DEG),
      y: theta.map((t) => psi(t, m)),
      line: { color: PALETTE[i % PALETTE.length], width: 2 },
    })),
    layout: baseLayout('ψ(θ) = (−1)^k cos(mθ) − 2k', {
      xaxis: { ...AXIS, title: { text: 'θ (degrees)' }, dtick: 30, range: [0, 180] },
      yaxis: { ...AXIS, title: { text: 'ψ(θ)' } },
    }),
  };
}

/** λ against the iteration for one or more schedules, on a log axis. */
export function lambdaFigure(schedules: Array<{ name: string; schedule: LambdaOption; iterations: number }>): Figure {
  return {
    data: schedules.map(({ name, schedule, iterations }, i) => {
      const its = linspace(0, iterations, Math.min(iterations + 1, 1000)).map(Math.round);
      return {
        type: 'scatter',
        mode: 'lines',
        name,
        x: its,
        y: its.map((it) => lambdaAt(it, schedule)),
        line: { color: PALETTE[i % PALETTE.length], width: 2 },
      };
    }),
    layout: baseLayout('λ annealing: max(λ_min, base·(1 + γ·it)^(−power))', {
      xaxis: { ...AXIS, title: { text: 'iteration' } },
      yaxis: { ...AXIS, title: { text: 'λ' }, type: 'log' },
    }),
  };
}

export interface BoundaryOptions {
  /** Angle between W1 and W2 (radians). */
  theta12?: number;
  /** Margin of the A-Softmax panel. */
  m?: number;
  /** Norms of W1 and W2 and biases for the plain-softmax panel (unequal, as after training). */
  softmax?: { norms: [number, number]; biases: [number, number] };
  /** Half-width of the plotted square of feature space. */
  extent?: number;
  resolution?: number;
}

/**
 * Class regions of two classes in a 2-D feature space under the three decision rules of the paper's Table 1:
 * softmax (W1−W2)x + b1 − b2 > 0, modified softmax cos θ1 > cos θ2, and A-Softmax cos(mθ1) > cos θ2 for class 1
 * (cos θ1 > cos(mθ2) for class 2; points satisfying neither lie in the margin). 1 = class 1, 2 = class 2, 0 = margin.
 */
export function decisionRegionsFigure(options: BoundaryOptions = {}): Figure {
  const { theta12 = (2 * Math.PI) / 3, m = 4, extent = 1, resolution = 241 } = options;
  const softmax = options.softmax ?? { norms: [1, 0.6], biases: [0, 0.25] };
  const grid = linspace(-extent, extent, resolution);
  const w = [
    [1, 0],
    [Math.cos(theta12), Math.sin(theta12)],
  ];
  const angle = (x: number, y: number, j: number) => Math.acos(Math.max(-1, Math.min(1, (x * w[j][0] + y * w[j][1]) / Math.hypot(x, y))));
  const rules: Array<[string, (x: number, y: number) => number]> = [
    [
      'softmax',
      (x, y) => {
        const f = (j: number) => softmax.norms[j] * (x * w[j][0] + y * w[j][1]) + softmax.biases[j];
        return f(0) > f(1) ? 1 : 2;
      },
    ],
    ['modified softmax (‖W‖ = 1, b = 0)', (x, y) => (Math.cos(angle(x, y, 0)) > Math.cos(angle(x, y, 1)) ? 1 : 2)],
    [
      `A-Softmax (m = ${m})`,
      (x, y) => {
        const [t1, t2] = [angle(x, y, 0), angle(x, y, 1)];
        if (psi(t1, m) > Math.cos(t2)) return 1;
        if (psi(t2, m) > Math.cos(t1)) return 2;
        return 0;
      },
    ],
  ];
  const colorscale = [
    [0, '#f2f2f2'],
    [0.33, '#f2f2f2'],
    [0.34, '#9ecae1'],
    [0.66, '#9ecae1'],
    [0.67, '#fcae91'],
    [1, '#fcae91'],
  ];
  const data: Array<Record<string, unknown>> = [];
  rules.forEach(([name, rule], panel) => {
    const axis = panel === 0 ? '' : String(panel + 1);
    data.push({
      type: 'heatmap',
      name,
      x: grid,
      y: grid,
      z: grid.map((y) => grid.map((x) => (x === 0 && y === 0 ? 0 : rule(x, y)))),
      zmin: 0,
      zmax: 2,
      colorscale,
      showscale: false,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
    });
    w.forEach((v, j) =>
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: `W${j + 1}`,
        x: [0, v[0] * extent * 0.9],
        y: [0, v[1] * extent * 0.9],
        line: { color: j === 0 ? '#08519c' : '#a50f15', width: 3 },
        marker: { size: [0, 8] },
        showlegend: panel === 0,
        xaxis: `x${axis}`,
        yaxis: `y${axis}`,
      }),
    );
  });
  const layout = baseLayout(
    `Decision regions, θ12 = ${Math.round(theta12 * DEG)}° (blue: class 1, red: class 2, grey: margin)`,
    {
      grid: { rows: 1, columns: 3, pattern: 'independent' },
      annotations: rules.map(([name], i) => ({
        text: name,
        showarrow: false,
        xref: 'paper',
        yref: 'paper',
        x: (i + 0.5) / 3,
        y: 1.04,
        xanchor: 'center',
      })),
    },
  );
  rules.forEach((_, i) => {
    const suffix = i === 0 ? '' : String(i + 1);
    layout[`xaxis${suffix}`] = { ...AXIS, range: [-extent, extent], showticklabels: false };
    layout[`yaxis${suffix}`] = { ...AXIS, range: [-extent, extent], showticklabels: false, scaleanchor: `x${suffix}` };
  });
  return { data, layout };
}
