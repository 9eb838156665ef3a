import { binaryThreshold, classRegions, intraInter } from '@sphereface/loss/bounds';
import { AXIS, baseLayout, PALETTE, type Figure } from './figure';

const DEG = 180 / Math.PI;

/**
 * The smallest margin m*(θ12) measured from the decision rule (bisection, @sphereface/loss) for two classes,
 * beside the paper-derived min(2+√3, 1+2π/θ12).
 */
export function marginThresholdFigure(points = 180): Figure {
  const degrees = Array.from({ length: points }, (_, i) => (180 * (i + 1)) / points);
  const measured = degrees.map((d) => binaryThreshold(d / DEG));
  const derived = degrees.map((d) => Math.min(2 + Math.sqrt(3), 1 + 360 / d));
  return {
    data: [
      { type: 'scatter', mode: 'markers', name: 'measured (decision rule, bisection)', x: degrees, y: measured, marker: { color: PALETTE[0], size: 5 } },
      { type: 'scatter', mode: 'lines', name: 'min(2+√3, 1 + 2π/θ12)', x: degrees, y: derived, line: { color: PALETTE[1], dash: 'dash', width: 2 } },
    ],
    layout: baseLayout('Smallest margin m*(θ12) with max intra-class ≤ min inter-class angle (two classes)', {
      xaxis: { ...AXIS, title: { text: 'θ12, angle between W1 and W2 (degrees)' }, dtick: 30, range: [0, 181] },
      yaxis: { ...AXIS, title: { text: 'm*' }, range: [2.8, 3.9] },
      shapes: [
        { type: 'line', x0: (Math.sqrt(3) - 1) * 180, x1: (Math.sqrt(3) - 1) * 180, y0: 2.8, y1: 3.9, line: { color: '#888', dash: 'dot' } },
      ],
      annotations: [{ x: (Math.sqrt(3) - 1) * 180, y: 3.85, text: '(√3 − 1)π', showarrow: false, xanchor: 'right' }],
    }),
  };
}

export interface RegionPanel {
  title: string;
  /** Class weight angles (radians). */
  weights: number[];
  m: number;
}

/**
 * Class regions on the unit circle: each class's arc {φ : m·d(φ, Wᵢ) < min_{j≠i} d(φ, Wⱼ)}, with the largest
 * intra-class and smallest inter-class angles, one polar panel per setting.
 */
export function circleRegionsFigure(panels: RegionPanel[]): Figure {
  const data: Array<Record<string, unknown>> = [];
  const layout = baseLayout('Class regions on the circle just below and above each bound', {
    showlegend: false,
    annotations: [] as Array<Record<string, unknown>>,
  });
  panels.forEach((panel, p) => {
    const polar = p === 0 ? 'polar' : `polar${p + 1}`;
    const arcs = classRegions(panel.weights, panel.m);
    const { intra, inter } = intraInter(panel.weights, panel.m);
    arcs.forEach((arc, i) => {
      const steps = 60;
      const theta = Array.from({ length: steps + 1 }, (_, k) => (arc.start + ((arc.end - arc.start) * k) / steps) * DEG);
      data.push({ type: 'scatterpolar', mode: 'lines', r: theta.map(() => 1), theta, line: { color: PALETTE[i % PALETTE.length], width: 8 }, subplot: polar });
      data.push({ type: 'scatterpolar', mode: 'lines', r: [0, 1], theta: [panel.weights[i] * DEG, panel.weights[i] * DEG], line: { color: PALETTE[i % PALETTE.length], width: 2 }, subplot: polar });
    });
    const column = p % 2;
    const row = Math.floor(p / 2);
    const rows = Math.ceil(panels.length / 2);
    const x0 = column * 0.5 + 0.05;
    const y1 = 1 - row / rows - 0.08;
    layout[polar] = {
      domain: { x: [x0, x0 + 0.4], y: [y1 - 0.8 / rows + 0.08, y1] },
      radialaxis: { visible: false, range: [0, 1.1] },
      angularaxis: { direction: 'counterclockwise', rotation: 0, dtick: 45 },
    };
    (layout.annotations as Array<Record<string, unknown>>).push({
      text: `${panel.title}<br>m = ${panel.m}: intra ${(intra * DEG).toFixed(2)}°, inter ${(inter * DEG).toFixed(2)}° → ${intra <= inter ? 'holds' : 'fails'}`,
      showarrow: false,
      xref: 'paper',
      yref: 'paper',
      x: x0 + 0.2,
      y: y1 + 0.09,
      xanchor: 'center',
    });
  });
  return { data, layout };
}
