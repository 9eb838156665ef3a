/**
 * Independent float64 references for the tests: naive per-sample loops over plain arrays, written from the
 * papers' formulas and the Caffe layer (not from the tensor code). θ comes from Math.acos and k from
 * ⌊mθ/π⌋ here, whereas the library uses Chebyshev polynomials and cosine thresholds.
 */
export type Matrix = number[][];

export interface ReferenceInputs {
  features: Matrix; // [N][D]
  weights: Matrix; // [D][C]
  labels: number[];
  bias?: number[];
  /** The forward iteration λ is taken at (default 0). */
  iteration?: number;
}

/** What a per-loss reference formula sees for one sample and one class j, in float64. */
export interface ReferenceTerms {
  /** The feature row x and the class column w_j. */
  x: number[];
  w: number[];
  xNorm: number;
  wNorm: number;
  /** cos θ_j, clamped to [−1, 1]; 0 when ‖x‖ = 0. */
  cos: number;
  /** θ_j = Math.acos(cos). */
  theta: number;
  /** j is the sample's label. */
  isTarget: boolean;
  /** b_j, 0 without a bias. */
  bias: number;
  iteration: number;
}

/** A loss's logit for one sample and class, written from its paper; `options` are the loss's resolved options. */
export type ReferenceLogit = (t: ReferenceTerms, options: Record<string, any>) => number;

const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
const column = (w: Matrix, j: number) => w.map((row) => row[j]);
const dot = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + v * b[i], 0);
const clampUnit = (c: number) => Math.min(1, Math.max(-1, c));

/** ψ(θ) = (−1)^k cos(mθ) − 2k with k = ⌊mθ/π⌋ (capped at m−1). */
export function referencePsi(theta: number, m: number): number {
  const k = Math.min(Math.floor((m * theta) / Math.PI), m - 1);
  return Math.pow(-1, k) * Math.cos(m * theta) - 2 * k;
}

/**
 * λ of a resolved `lambda` option at an iteration, as the Caffe layer computes it: the number itself, or
 * max(lambdaMin, base·(1 + gamma·it)^(−power)) for a schedule (every field must be present).
 */
export function referenceLambda(option: number | Record<string, number>, iteration: number): number {
  if (typeof option === 'number') return option;
  const { base, gamma, power, lambdaMin } = option;
  return Math.max(lambdaMin, base / Math.pow(1 + gamma * iteration, power));
}

/** (λ·r·cos θ_y + r·ψ(θ_y))/(1+λ) for the target, r·cos θ_j otherwise (L-Softmax, A-Softmax). */
function psiMixed(r: number, t: ReferenceTerms, options: Record<string, any>): number {
  if (!t.isTarget) return r * t.cos;
  const lambda = referenceLambda(options.lambda, t.iteration);
  return (lambda * r * t.cos + r * referencePsi(t.theta, options.m)) / (1 + lambda);
}

/**
 * One float64 formula per registered loss, keyed by its registry name. The reference test fails, naming the
 * loss, for a registered loss that has none here.
 */
export const REFERENCE_LOGITS: Readonly<Record<string, ReferenceLogit>> = {
  softmax: (t) => dot(t.x, t.w) + t.bias,
  'a-softmax': (t, o) => psiMixed(t.xNorm, t, o),
  'l-softmax': (t, o) => psiMixed(t.xNorm * t.wNorm, t, o),
  'a-softmax-normfea': (t, o) => {
    if (!t.isTarget) return o.s * t.cos;
    const lambda = referenceLambda(o.lambda, t.iteration);
    return (o.s * (lambda * t.cos + referencePsi(t.theta, o.m))) / (1 + lambda);
  },
  normface: (t, o) => o.s * t.cos,
  cosface: (t, o) => o.s * (t.isTarget ? t.cos - o.m : t.cos),
  arcface: (t, o) => {
    if (!t.isTarget) return o.s * t.cos;
    const m = o.m;
    const useMargin = o.easyMargin ? t.cos > 0 : t.theta < Math.PI - m;
    return o.s * (useMargin ? Math.cos(t.theta + m) : o.easyMargin ? t.cos : t.cos - m * Math.sin(m));
  },
  combined: (t, o) => {
    const { s, m1, m2, m3 } = o;
    return t.isTarget ? s * (Math.cos(Math.min(m1 * t.theta + m2, Math.PI)) - m3) : s * t.cos;
  },
};

/** Per-sample, per-class logits, computed the way each paper writes them. */
export function referenceLogits(name: string, options: Record<string, any>, inputs: ReferenceInputs): Matrix {
  const formula = REFERENCE_LOGITS[name];
  if (!formula) {
    throw new Error(`no float64 reference for loss '${name}': add its formula to REFERENCE_LOGITS in src/testing/reference.ts`);
  }
  const { features, weights, labels } = inputs;
  const classes = weights[0].length;
  return features.map((x, i) => {
    const xNorm = norm(x);
    const row: number[] = [];
    for (let j = 0; j < classes; j++) {
      const w = column(weights, j);
      const wNorm = norm(w);
      const cos = xNorm === 0 ? 0 : clampUnit(dot(x, w) / (xNorm * wNorm));
      row.push(
        formula(
          {
            x,
            w,
            xNorm,
            wNorm,
            cos,
            theta: Math.acos(cos),
            isTarget: j === labels[i],
            bias: inputs.bias ? inputs.bias[j] : 0,
            iteration: inputs.iteration ?? 0,
          },
          options,
        ),
      );
    }
    return row;
  });
}

/** Mean softmax cross-entropy, with the log-sum-exp written out per sample. */
export function referenceLoss(name: string, options: Record<string, any>, inputs: ReferenceInputs): number {
  const logits = referenceLogits(name, options, inputs);
  let total = 0;
  logits.forEach((row, i) => {
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((acc, z) => acc + Math.exp(z - max), 0));
    total += logSum - row[inputs.labels[i]];
  });
  return total / logits.length;
}

/** Central finite-difference gradient of `f` with respect to every entry of `m` (float64). */
export function finiteDifferenceGradient(m: Matrix, f: () => number, h = 1e-6): Matrix {
  return m.map((row) =>
    row.map((_, j) => {
      const saved = row[j];
      row[j] = saved + h;
      const up = f();
      row[j] = saved - h;
      const down = f();
      row[j] = saved;
      return (up - down) / (2 * h);
    }),
  );
}

/**
 * The A-Softmax backward exactly as margin_inner_product_layer.cpp hand-codes it for m = 1…4, with its
 * per-m sign variables (sign(0) = 0 as in Caffe), in float64. Returns ∂L/∂x [N][D] and ∂L/∂W [D][C] for the
 * mean cross-entropy loss, where W are the stored weights (the layer treats them as already normalised).
 */
export function referenceCaffeBackward(
  options: { m: number; lambda: number | Record<string, number> },
  inputs: ReferenceInputs,
): { dx: Matrix; dW: Matrix } {
  const { features, weights, labels } = inputs;
  const m = options.m;
  const lambda = referenceLambda(options.lambda, inputs.iteration ?? 0);
  const n = features.length;
  const d = weights.length;
  const classes = weights[0].length;
  const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);
  const wHat = Array.from({ length: classes }, (_, j) => {
    const w = column(weights, j);
    const wn = norm(w);
    return w.map((v) => v / wn);
  });
  const logits = referenceLogits('a-softmax', options, inputs);
  const dx: Matrix = features.map(() => new Array(d).fill(0));
  const dW: Matrix = Array.from({ length: d }, () => new Array(classes).fill(0));
  features.forEach((x, i) => {
    const row = logits[i];
    const max = Math.max(...row);
    const exp = row.map((z) => Math.exp(z - max));
    const total = exp.reduce((a, b) => a + b, 0);
    const g = exp.map((e, j) => (e / total - (j === labels[i] ? 1 : 0)) / n);
    const xNorm = norm(x);
    for (let j = 0; j < classes; j++) {
      for (let k = 0; k < d; k++) dW[k][j] += g[j] * x[k];
      if (j !== labels[i] || m === 1) {
        for (let k = 0; k < d; k++) dx[i][k] += g[j] * wHat[j][k];
        continue;
      }
      const c = dot(x, wHat[j]) / xNorm;
      const s0 = sign(c);
      let coeffW: number;
      let coeffX: number;
      if (m === 2) {
        coeffW = 4 * s0 * c;
        coeffX = -(2 * s0 * c * c + 1) / xNorm;
      } else if (m === 3) {
        const s1 = sign(Math.abs(c) - 0.5);
        const s2 = s0 * (1 + s1) - 2;
        coeffW = s1 * (12 * c * c - 3);
        coeffX = -(8 * s1 * c ** 3 - s2) / xNorm;
      } else if (m === 4) {
        const s3 = s0 * sign(2 * c * c - 1);
        const s4 = 2 * s0 + s3 - 3;
        coeffW = s3 * (32 * c ** 3 - 16 * c);
        coeffX = -(s3 * (24 * c ** 4 - 8 * c * c - 1) - s4) / xNorm;
      } else {
        throw new Error(`the Caffe layer implements m = 1…4 only; got ${m}`);
      }
      const pairNorm = Math.sqrt(coeffW * coeffW + coeffX * coeffX);
      for (let k = 0; k < d; k++) {
        const margin = ((coeffW / pairNorm) * wHat[j][k] + (coeffX / pairNorm) * x[k]) / (1 + lambda);
        dx[i][k] += g[j] * (margin + (lambda / (1 + lambda)) * wHat[j][k]);
      }
    }
  });
  return { dx, dW };
}

/** Test inputs are reproducible: the shared mulberry32 stream. */
export { mulberry32 as seededRandom } from '@sphereface/common';

export function randomMatrix(rows: number, cols: number, random: () => number, scale = 1): Matrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (random() * 2 - 1) * scale));
}
