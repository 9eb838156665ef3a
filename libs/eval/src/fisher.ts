/**
 * Angular Fisher score, SphereFace appendix E (Liu et al., CVPR 2017, eq. 11):
 *
 *   AFS = S_w / S_b,
 *   S_w = Σ_i Σ_{x_j ∈ X_i} (1 − cos⟨x_j, m_i⟩),
 *   S_b = Σ_i n_i (1 − cos⟨m_i, m⟩),
 *
 * X_i the features of class i, n_i their count, m_i their mean vector, m the mean vector of all features.
 * Means are of the features as given (the appendix does not normalise them first; pass L2-normalised
 * rows to get the mean-direction variant). Lower = more discriminative.
 */
import { toMatrix64, type FeatureMatrix } from './matrix';

export interface AngularFisherScore {
  readonly afs: number;
  readonly withinClassScatter: number;
  readonly betweenClassScatter: number;
  readonly classes: number;
}

export function angularFisherScore(features: FeatureMatrix, labels: ArrayLike<number | string>): AngularFisherScore {
  const where = 'angularFisherScore';
  const x = toMatrix64(features, `${where}: features`);
  const { rows: n, cols: d, data } = x;
  if (labels.length !== n) throw new Error(`${where}: ${labels.length} labels for ${n} feature rows`);

  const classOf = new Map<number | string, number>();
  const classIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = classOf.get(labels[i]);
    if (c === undefined) {
      c = classOf.size;
      classOf.set(labels[i], c);
    }
    classIndex[i] = c;
  }
  const k = classOf.size;
  if (k < 2) throw new Error(`${where}: needs at least 2 classes, got ${k}`);

  const classMeans = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const globalMean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = classIndex[i];
    counts[c]++;
    for (let j = 0; j < d; j++) {
      classMeans[c * d + j] += data[i * d + j];
      globalMean[j] += data[i * d + j];
    }
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) classMeans[c * d + j] /= counts[c];
  for (let j = 0; j < d; j++) globalMean[j] /= n;

  const cosine = (a: Float64Array, b: Float64Array, what: () => string): number => {
    let dot = 0;
    let aa = 0;
    let bb = 0;
    for (let j = 0; j < a.length; j++) {
      dot += a[j] * b[j];
      aa += a[j] * a[j];
      bb += b[j] * b[j];
    }
    if (aa === 0 || bb === 0) throw new Error(`${where}: ${what()} is the zero vector, its angle is undefined`);
    return dot / (Math.sqrt(aa) * Math.sqrt(bb));
  };
  const meanOf = (c: number) => classMeans.subarray(c * d, (c + 1) * d);

  let sw = 0;
  for (let i = 0; i < n; i++) {
    const c = classIndex[i];
    sw += 1 - cosine(data.subarray(i * d, (i + 1) * d), meanOf(c), () => `feature row ${i} or the mean of its class`);
  }
  let sb = 0;
  for (const [label, c] of classOf) {
    sb += counts[c] * (1 - cosine(meanOf(c), globalMean, () => `the mean of class ${String(label)} or the global mean (centred features?)`));
  }
  if (sb === 0) throw new Error(`${where}: between-class scatter is 0 (every class mean points along the global mean)`);
  return { afs: sw / sb, withinClassScatter: sw, betweenClassScatter: sb, classes: k };
}
