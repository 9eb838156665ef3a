/**
 * Independent reference implementations for the tests. Written separately from the library, as literal,
 * slow transcriptions of the sources (evaluation.m, insightface verification.py, opensphere get_results,
 * the appendix formula): naive loops over plain arrays, brute-force threshold scans, no sorting sweeps and
 * no shared helpers with src/.
 */

type Rows = ArrayLike<ArrayLike<number>>;

function toPlain(rows: Rows): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < rows.length; i++) out.push(Float64Array.from(rows[i]));
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

/** evaluation.m getAccuracy, with scores and flags (1 same, −1 different) of the pairs considered. */
function getAccuracy(scores: number[], flags: number[], threshold: number): number {
  let hits = 0;
  for (let k = 0; k < scores.length; k++) {
    if (flags[k] === 1 && scores[k] > threshold) hits++;
    if (flags[k] !== 1 && scores[k] < threshold) hits++;
  }
  return hits / scores.length;
}

/** Number of grid values (k − thrNum)/thrNum, k = 0…2·thrNum, for which pred holds (pred is monotone). */
function countGrid(thrNum: number, pred: (t: number) => boolean, predHoldsAtStart: boolean): number {
  // Bisection for the first k where pred flips, comparing the exact grid values.
  let lo = 0;
  let hi = 2 * thrNum + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pred((mid - thrNum) / thrNum) === predHoldsAtStart) lo = mid + 1;
    else hi = mid;
  }
  return predHoldsAtStart ? lo : 2 * thrNum + 1 - lo;
}

/**
 * Hits (correctly classified pairs) at every grid threshold, as getAccuracy would count them: a same pair
 * with score s is a hit at the grid values below s, a different pair at those above s. Range counts are
 * accumulated in a difference array so that all 20001 thresholds cost one pass.
 */
export function referenceGridHits(scores: number[], flags: number[], thrNum: number): Int32Array {
  const size = 2 * thrNum + 1;
  const delta = new Int32Array(size + 1);
  for (let k = 0; k < scores.length; k++) {
    const s = scores[k];
    if (flags[k] === 1) {
      delta[0]++;
      delta[countGrid(thrNum, (t) => t < s, true)]--;
    } else {
      delta[size - countGrid(thrNum, (t) => t > s, false)]++;
    }
  }
  const hits = new Int32Array(size);
  let running = 0;
  for (let k = 0; k < size; k++) {
    running += delta[k];
    hits[k] = running;
  }
  return hits;
}

/** evaluation.m getThreshold: accuracy at every grid value, then the mean of the arg-max set. */
function getThreshold(scores: number[], flags: number[], thrNum: number): number {
  const hits = referenceGridHits(scores, flags, thrNum);
  const thresholds: number[] = [];
  const accuracies: number[] = [];
  for (let k = -thrNum; k <= thrNum; k++) {
    thresholds.push(k / thrNum);
    accuracies.push(hits[k + thrNum] / scores.length);
  }
  let max = -1;
  for (const a of accuracies) if (a > max) max = a;
  const chosen = thresholds.filter((_, k) => accuracies[k] === max);
  return chosen.reduce((s, t) => s + t, 0) / chosen.length;
}

/** evaluation.m getAccuracy, exported so tests can check referenceGridHits against it. */
export { getAccuracy as referenceGetAccuracy };

function columnMean(columns: Float64Array[]): Float64Array {
  const mu = new Float64Array(columns[0].length);
  for (const column of columns) for (let j = 0; j < mu.length; j++) mu[j] += column[j];
  for (let j = 0; j < mu.length; j++) mu[j] /= columns.length;
  return mu;
}

/** Subtract μ, divide each vector by its norm, then the sum of elementwise products, as the MATLAB lines do. */
function normalisedDot(l: Float64Array, r: Float64Array, mu: Float64Array): number {
  const d = mu.length;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < d; j++) {
    aa += (l[j] - mu[j]) ** 2;
    bb += (r[j] - mu[j]) ** 2;
  }
  const na = Math.sqrt(aa);
  const nb = Math.sqrt(bb);
  let score = 0;
  for (let j = 0; j < d; j++) score += ((l[j] - mu[j]) / na) * ((r[j] - mu[j]) / nb);
  return score;
}

/** evaluation.m's 10-fold loop, fold = ceil(i / foldSize) with 1-based i. */
export function referenceEvaluationM(
  featureLs: Rows,
  featureRs: Rows,
  same: ArrayLike<boolean>,
  folds = 10,
  thrNum = 10000,
  /** 0-based fold of each pair (pairs.fold); default evaluation.m's parseList, fold = ceil(i / (n / folds)). */
  foldLabels?: ArrayLike<number>,
): { ACCs: number[]; thresholds: number[]; scores: number[] } {
  const L = toPlain(featureLs);
  const R = toPlain(featureRs);
  const n = L.length;
  const fold = foldLabels ? Array.from(foldLabels, (f) => f + 1) : L.map((_, i) => Math.ceil((i + 1) / (n / folds)));
  const flags = Array.from(same, (s) => (s ? 1 : -1));
  const ACCs: number[] = [];
  const thresholds: number[] = [];
  const testScores: number[] = new Array(n);
  for (let f = 1; f <= folds; f++) {
    const valFold: number[] = [];
    const testFold: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] !== f ? valFold : testFold).push(i);
    // mu = mean([featureLs(:, valFold), featureRs(:, valFold)], 2): all left columns, then all right ones.
    const mu = columnMean([...valFold.map((i) => L[i]), ...valFold.map((i) => R[i])]);
    const scores = L.map((l, i) => normalisedDot(l, R[i], mu));
    const t = getThreshold(
      valFold.map((i) => scores[i]),
      valFold.map((i) => flags[i]),
      thrNum,
    );
    thresholds.push(t);
    ACCs.push(
      getAccuracy(
        testFold.map((i) => scores[i]),
        testFold.map((i) => flags[i]),
        t,
      ),
    );
    for (const i of testFold) testScores[i] = scores[i];
  }
  return { ACCs, thresholds, scores: testScores };
}

/** MATLAB std: normalised by N−1. */
export function matlabStd(x: number[]): number {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  return Math.sqrt(x.reduce((s, v) => s + (v - m) * (v - m), 0) / (x.length - 1));
}

/** opensphere ACC: try every score (and +∞) as the threshold, accept iff score ≥ threshold. */
export function referenceBestThreshold(scores: ArrayLike<number>, same: ArrayLike<boolean>): number {
  const candidates = [Infinity, ...Array.from(scores)];
  let best = 0;
  for (const t of candidates) {
    let hits = 0;
    for (let i = 0; i < scores.length; i++) if ((scores[i] >= t) === same[i]) hits++;
    best = Math.max(best, hits / scores.length);
  }
  return best;
}

/** insightface calculate_roc accuracy (pca = 0): sklearn KFold(10) unshuffled, thresholds np.arange(0, 4, 0.01). */
export function referenceInsightface(
  embeddings1: Rows,
  embeddings2: Rows,
  actualIssame: ArrayLike<boolean>,
  nrofFolds = 10,
): { accuracy: number[]; bestThresholds: number[] } {
  const e1 = toPlain(embeddings1);
  const e2 = toPlain(embeddings2);
  const nrofPairs = e1.length;
  const thresholds: number[] = [];
  for (let i = 0; i * 0.01 < 4; i++) thresholds.push(i * 0.01);
  const dist = e1.map((row, i) => row.reduce((s, v, j) => s + (v - e2[i][j]) ** 2, 0));
  const calculateAccuracy = (threshold: number, idx: number[]): number => {
    let tp = 0;
    let tn = 0;
    for (const i of idx) {
      const predict = dist[i] < threshold;
      if (predict && actualIssame[i]) tp++;
      if (!predict && !actualIssame[i]) tn++;
    }
    return (tp + tn) / idx.length;
  };
  // sklearn KFold: fold_sizes = n // k, plus one for the first n % k folds.
  const foldOf: number[] = [];
  for (let f = 0; f < nrofFolds; f++) {
    const size = Math.floor(nrofPairs / nrofFolds) + (f < nrofPairs % nrofFolds ? 1 : 0);
    for (let k = 0; k < size; k++) foldOf.push(f);
  }
  const accuracy: number[] = [];
  const bestThresholds: number[] = [];
  for (let f = 0; f < nrofFolds; f++) {
    const train = foldOf.flatMap((g, i) => (g !== f ? [i] : []));
    const test = foldOf.flatMap((g, i) => (g === f ? [i] : []));
    const accTrain = thresholds.map((t) => calculateAccuracy(t, train));
    const bestIndex = accTrain.indexOf(Math.max(...accTrain)); // np.argmax: first maximum
    bestThresholds.push(thresholds[bestIndex]);
    accuracy.push(calculateAccuracy(thresholds[bestIndex], test));
  }
  return { accuracy, bestThresholds };
}

/** AUC as the Mann–Whitney statistic: P(same score > different score) + ½ P(tie), over all pairs of pairs. */
export function referenceAuc(scores: ArrayLike<number>, same: ArrayLike<boolean>): number {
  let wins = 0;
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!same[i]) continue;
    for (let k = 0; k < scores.length; k++) {
      if (same[k]) continue;
      total++;
      if (scores[i] > scores[k]) wins++;
      else if (scores[i] === scores[k]) wins += 0.5;
    }
  }
  return wins / total;
}

/** Operating points (FPR, TPR) of every candidate threshold, accept iff score ≥ t, by counting. */
function operatingPoints(scores: ArrayLike<number>, same: ArrayLike<boolean>): Array<{ t: number; fpr: number; tpr: number }> {
  const positives = Array.from(same).filter(Boolean).length;
  const negatives = same.length - positives;
  const candidates = [Infinity, ...new Set(Array.from(scores))];
  return candidates.map((t) => {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= t) {
        if (same[i]) tp++;
        else fp++;
      }
    }
    return { t, fpr: fp / negatives, tpr: tp / positives };
  });
}

/** The ROC polyline's points in order of decreasing threshold. */
function polyline(scores: ArrayLike<number>, same: ArrayLike<boolean>): Array<{ fpr: number; tpr: number }> {
  return operatingPoints(scores, same).sort((a, b) => b.t - a.t);
}

/** Highest TPR of the polyline at FPR = x (on a vertical segment: its top). */
function envelope(points: Array<{ fpr: number; tpr: number }>, x: number): number {
  let best = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const p = points[k];
    const q = points[k + 1];
    if (x < p.fpr || x > q.fpr) continue;
    best = Math.max(best, q.fpr === p.fpr ? q.tpr : p.tpr + ((x - p.fpr) / (q.fpr - p.fpr)) * (q.tpr - p.tpr));
  }
  return best;
}

/** EER by bisection on x of x − (1 − ROC(x)), which is increasing in x. */
export function referenceEer(scores: ArrayLike<number>, same: ArrayLike<boolean>): number {
  const points = polyline(scores, same);
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (mid - (1 - envelope(points, mid)) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** TAR@FAR both ways: best TPR among thresholds with FPR ≤ far, and the polyline's value at far. */
export function referenceTarAtFar(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  far: number,
): { tar: number; tarInterpolated: number } {
  const points = polyline(scores, same);
  const tar = Math.max(...points.filter((p) => p.fpr <= far).map((p) => p.tpr));
  return { tar, tarInterpolated: envelope(points, far) };
}

/** Appendix E, grouping rows by label into lists first. */
export function referenceAngularFisher(features: Rows, labels: ArrayLike<number | string>): number {
  const x = toPlain(features);
  const groups = new Map<number | string, Float64Array[]>();
  for (let i = 0; i < x.length; i++) {
    const g = groups.get(labels[i]) ?? [];
    g.push(x[i]);
    groups.set(labels[i], g);
  }
  const meanOf = (rows: Float64Array[]) => rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  const cos = (a: Float64Array, b: Float64Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
  const m = meanOf(x);
  let sw = 0;
  let sb = 0;
  for (const rows of groups.values()) {
    const mi = meanOf(rows);
    for (const r of rows) sw += 1 - cos(r, mi);
    sb += rows.length * (1 - cos(mi, m));
  }
  return sw / sb;
}
