/**
 * Paired statistics for comparing training variants from their recorded LFW fold accuracies (issue #15):
 *
 * - `pairedDifference`: mean of paired differences with a Student-t interval, and how many pairs improve,
 *   tie or worsen;
 * - `compareSeedFoldAccuracies`: two variants' per-seed fold accuracies → the per-seed comparison (one
 *   difference per seed: the seeds' 10-fold means) and the per-fold comparison (one difference per seed and
 *   LFW fold, same fold of the same seed), in percentage points by default;
 * - `pageTrendTest` / `pageTrendOverSeeds`: Page's L test for a monotone trend over treatments in a
 *   hypothesised order (blocks = seeds), exact or normal approximation;
 * - the distributions they need (Student t CDF and quantile via the regularised incomplete beta function,
 *   the normal tail via the regularised incomplete gamma function), in plain float64, no dependencies.
 */
import { mean } from './stats';

// ---------------------------------------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------------------------------------

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

// Lanczos approximation, g = 7, n = 9 (the coefficients used by e.g. Boost's and Numerical Recipes' lgamma
// descendants); relative error ≈ 1e-15 for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`logGamma: x must be a positive finite number, got ${x}`);
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of I_x(a, b) (modified Lentz; Numerical Recipes' betacf), for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  throw new Error(`regularizedIncompleteBeta: continued fraction did not converge (a = ${a}, b = ${b}, x = ${x})`);
}

/**
 * I_x(a, b) and 1 − I_x(a, b), each without cancellation where it matters: the smaller-side tail is computed
 * directly (continued fraction on x or, by symmetry, on y = 1 − x) and the other as its complement.
 * `y` must be 1 − x, passed separately so callers can compute it without rounding (e.g. t²/(ν + t²)).
 */
function incompleteBetaBoth(x: number, y: number, a: number, b: number): { lower: number; upper: number } {
  if (x <= 0) return { lower: 0, upper: 1 };
  if (y <= 0) return { lower: 1, upper: 0 };
  const logFront = a * Math.log(x) + b * Math.log(y) - (logGamma(a) + logGamma(b) - logGamma(a + b));
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
    return { lower, upper: 1 - lower };
  }
  const upper = (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b;
  return { lower: 1 - upper, upper };
}

/** The regularised incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new Error(`regularizedIncompleteBeta: a and b must be positive and finite, got a = ${a}, b = ${b}`);
  }
  if (!(x >= 0 && x <= 1)) throw new Error(`regularizedIncompleteBeta: x must be in [0, 1], got ${x}`);
  return incompleteBetaBoth(x, 1 - x, a, b).lower;
}

/** Upper regularised incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0 (series or continued fraction). */
function upperIncompleteGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 1; n <= MAX_ITERATIONS; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) return 1 - sum * Math.exp(logFront);
    }
    throw new Error(`upperIncompleteGamma: series did not converge (a = ${a}, x = ${x})`);
  }
  // Continued fraction for Q(a, x) (modified Lentz; Numerical Recipes' gcf).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return Math.exp(logFront) * h;
  }
  throw new Error(`upperIncompleteGamma: continued fraction did not converge (a = ${a}, x = ${x})`);
}

/** P(Z > z) for a standard normal Z: ½ erfc(z/√2) = ½ Q(½, z²/2) for z ≥ 0, without cancellation in the tail. */
export function normalSurvival(z: number): number {
  if (Number.isNaN(z)) throw new Error('normalSurvival: z is NaN');
  if (z === Infinity) return 0;
  if (z === -Infinity) return 1;
  const half = 0.5 * upperIncompleteGamma(0.5, (z * z) / 2);
  return z >= 0 ? half : 1 - half;
}

function checkDf(df: number, where: string): void {
  if (!(df > 0) || !Number.isFinite(df)) {
    throw new Error(`${where}: degrees of freedom must be positive and finite, got ${df}`);
  }
}

/** P(T > t) for t ≥ 0: ½ I_{ν/(ν+t²)}(ν/2, ½), with 1 − x = t²/(ν+t²) computed directly. */
function studentTUpperTail(t: number, df: number): number {
  if (t === Infinity) return 0;
  const t2 = t * t;
  return 0.5 * incompleteBetaBoth(df / (df + t2), t2 / (df + t2), df / 2, 0.5).lower;
}

/** P(T ≤ t) for Student's t with `df` (> 0, need not be an integer) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDf(df, 'studentTCdf');
  if (Number.isNaN(t)) throw new Error('studentTCdf: t is NaN');
  return t >= 0 ? 1 - studentTUpperTail(t, df) : studentTUpperTail(-t, df);
}

/**
 * The p-quantile of Student's t with `df` degrees of freedom (0 < p < 1): the t with P(T ≤ t) = p, by
 * bisection on the upper tail down to adjacent doubles. For p > ½ the tail probability 1 − p is exact in
 * float64, so e.g. studentTQuantile(0.975, 9) is the quantile of the double nearest 0.975.
 */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df, 'studentTQuantile');
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p; // P(T > t) = q for the positive t; 1 − p is exact for p ≥ ½ (Sterbenz)
  let lo = 0;
  let hi = 1;
  while (studentTUpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) throw new Error(`studentTQuantile: no finite quantile found for p = ${p}, df = ${df}`);
  }
  for (let i = 0; i < 2000; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (studentTUpperTail(mid, df) > q) lo = mid;
    else hi = mid;
  }
  // Of the two adjacent doubles, the one whose tail is closer to q.
  const t = Math.abs(studentTUpperTail(lo, df) - q) < Math.abs(studentTUpperTail(hi, df) - q) ? lo : hi;
  return p < 0.5 ? -t : t;
}

// ---------------------------------------------------------------------------------------------------------
// Paired differences
// ---------------------------------------------------------------------------------------------------------

export interface PairedDifferenceOptions {
  /** Confidence level of the two-sided interval, in (0, 1). Default 0.95. */
  readonly confidence?: number;
  /** Each difference is scale × (treatment − control): 100 turns accuracy fractions into percentage points. Default 1. */
  readonly scale?: number;
  /** A scaled difference with |d| ≤ tieTolerance counts as a tie (float rounding). Default 0: only exact equality. */
  readonly tieTolerance?: number;
  /** What one unit of the (scaled) differences is and what one difference stands for; reported as `unit`. */
  readonly unit?: string;
}

export interface PairedDifference {
  /** Number of pairs. */
  readonly n: number;
  /** Mean of the differences scale × (treatment − control). */
  readonly mean: number;
  /** Sample standard deviation (N − 1) of the differences. */
  readonly sd: number;
  /** sd / √n. */
  readonly standardError: number;
  /** n − 1, the Student-t degrees of freedom of the interval. */
  readonly df: number;
  /** The t quantile used: t_{(1 + confidence)/2, n − 1}. */
  readonly tQuantile: number;
  /** mean ± tQuantile · standardError. */
  readonly interval: [number, number];
  readonly confidence: number;
  /** Pairs with difference > tieTolerance (treatment better). */
  readonly improved: number;
  /** Pairs with |difference| ≤ tieTolerance. */
  readonly tied: number;
  /** Pairs with difference < −tieTolerance. */
  readonly worsened: number;
  /** improved / n, tied / n, worsened / n. */
  readonly shareImproved: number;
  readonly shareTied: number;
  readonly shareWorsened: number;
  /** The unit of mean, sd and interval, and what one difference is. */
  readonly unit: string;
  /** The scaled differences, in input order. */
  readonly differences: number[];
}

function checkFiniteArray(values: ArrayLike<number>, where: string, name: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${where}: ${name}[${i}] is ${v}, not a finite number`);
    }
  }
}

/**
 * Paired comparison of treatment against control (pair i = treatment[i], control[i]): the mean difference
 * with a two-sided Student-t interval over the n pairs (df = n − 1), and how many pairs improve, tie or worsen.
 * The interval treats the n differences as independent draws; what that means depends on what a pair is
 * (see compareSeedFoldAccuracies).
 */
export function pairedDifference(
  treatment: ArrayLike<number>,
  control: ArrayLike<number>,
  options: PairedDifferenceOptions = {},
): PairedDifference {
  const where = 'pairedDifference';
  const confidence = options.confidence ?? 0.95;
  const scale = options.scale ?? 1;
  const tieTolerance = options.tieTolerance ?? 0;
  if (!(confidence > 0 && confidence < 1)) throw new Error(`${where}: confidence must be in (0, 1), got ${confidence}`);
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new Error(`${where}: scale must be positive and finite, got ${scale}`);
  }
  if (!(tieTolerance >= 0) || !Number.isFinite(tieTolerance)) {
    throw new Error(`${where}: tieTolerance must be ≥ 0 and finite, got ${tieTolerance}`);
  }
  if (treatment.length !== control.length) {
    throw new Error(`${where}: treatment has ${treatment.length} values but control has ${control.length}; they must be paired`);
  }
  const n = treatment.length;
  if (n < 2) throw new Error(`${where}: a t interval needs at least 2 pairs, got ${n}`);
  checkFiniteArray(treatment, where, 'treatment');
  checkFiniteArray(control, where, 'control');
  const differences: number[] = [];
  for (let i = 0; i < n; i++) differences.push(scale * (treatment[i] - control[i]));
  const m = mean(differences);
  let ss = 0;
  for (const d of differences) ss += (d - m) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const standardError = sd / Math.sqrt(n);
  const df = n - 1;
  const tQuantile = studentTQuantile((1 + confidence) / 2, df);
  const half = tQuantile * standardError;
  let improved = 0;
  let tied = 0;
  let worsened = 0;
  for (const d of differences) {
    if (d > tieTolerance) improved++;
    else if (d < -tieTolerance) worsened++;
    else tied++;
  }
  return {
    n,
    mean: m,
    sd,
    standardError,
    df,
    tQuantile,
    interval: [m - half, m + half],
    confidence,
    improved,
    tied,
    worsened,
    shareImproved: improved / n,
    shareTied: tied / n,
    shareWorsened: worsened / n,
    unit:
      options.unit ??
      (scale === 1 ? 'input units, one difference per pair' : `input units × ${scale}, one difference per pair`),
    differences,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Per-seed fold accuracies
// ---------------------------------------------------------------------------------------------------------

/** Per seed, the LFW protocol's fold accuracies (fractions, fold 1 first), e.g. a run record's `foldAccuracies`. */
export type SeedFoldAccuracies<K extends string | number = string | number> =
  | ReadonlyMap<K, ArrayLike<number>>
  | Readonly<Record<string, ArrayLike<number>>>;

export interface SeedComparisonOptions {
  /** Confidence level of both intervals. Default 0.95. */
  readonly confidence?: number;
  /** Differences are scale × (treatment − control) accuracy: 100 (default) = percentage points, 1 = fractions. */
  readonly scale?: number;
  /**
   * Scaled differences with |d| ≤ tieTolerance are ties. Default 1e-9 × scale: fold accuracies are
   * counts / pairs (steps of 1/600), so anything this small is float rounding of the per-seed means.
   */
  readonly tieTolerance?: number;
}

export interface SeedComparison<K> {
  /** Seeds present in both sets, in increasing order (numeric when every seed is a number). */
  readonly seeds: K[];
  /** Seeds in only one of the two sets; they are left out of both comparisons. */
  readonly unpaired: { readonly treatmentOnly: K[]; readonly controlOnly: K[] };
  /** Fold accuracies per seed (the same for every seed of both sets). */
  readonly folds: number;
  /**
   * One difference per paired seed: treatment's mean fold accuracy − control's (the run's 10-fold mean),
   * interval over seeds (df = seeds − 1). Null with fewer than 2 paired seeds (no interval; see perSeedNote).
   */
  readonly perSeed: PairedDifference | null;
  readonly perSeedNote?: string;
  /**
   * One difference per (seed, fold): the same LFW fold of the same seed, interval over all seeds × folds
   * (df = seeds · folds − 1). It treats the folds as independent: it reflects the spread over LFW's test
   * folds for these trained models, not over training seeds (perSeed is the comparison across training runs).
   */
  readonly perFold: PairedDifference;
}

function seedEntries<K extends string | number>(
  set: SeedFoldAccuracies<K>,
  where: string,
  side: string,
): Map<K, ArrayLike<number>> {
  if (set instanceof Map) return new Map(set as ReadonlyMap<K, ArrayLike<number>>);
  if (set === null || typeof set !== 'object') {
    throw new Error(`${where}: ${side} must be a Map or a record keyed by seed`);
  }
  return new Map(Object.entries(set) as Array<[K, ArrayLike<number>]>);
}

function sortSeeds<K extends string | number>(seeds: K[]): K[] {
  const numeric = seeds.every((s) => typeof s === 'number' || /^-?\d+(\.\d+)?$/.test(s));
  const byString = (a: K, b: K) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);
  return [...seeds].sort((a, b) => (numeric ? Number(a) - Number(b) : byString(a, b)));
}

function checkFoldAccuracies(values: ArrayLike<number>, folds: number, where: string, what: string): void {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new Error(`${where}: ${what} is not an array of fold accuracies`);
  }
  if (values.length !== folds) {
    throw new Error(`${where}: ${what} has ${values.length} fold accuracies but the first seed has ${folds}; every seed needs the same folds`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${where}: ${what} fold ${i + 1} is ${v}, not a finite number`);
    }
    if (v < 0 || v > 1) {
      throw new Error(`${where}: ${what} fold ${i + 1} is ${v}; fold accuracies are fractions in [0, 1], not percentages`);
    }
  }
}

function unitName(scale: number): string {
  return scale === 100 ? 'percentage points of LFW accuracy' : scale === 1 ? 'LFW accuracy (fraction)' : `LFW accuracy × ${scale}`;
}

/**
 * Treatment versus control from their per-seed fold accuracies (Map or record keyed by seed). Only seeds in
 * both sets are paired; the others are listed in `unpaired`. Throws when no seed is shared, when the seeds
 * have different numbers of folds, or on non-finite values or values outside [0, 1].
 */
export function compareSeedFoldAccuracies<K extends string | number>(
  treatment: SeedFoldAccuracies<K>,
  control: SeedFoldAccuracies<K>,
  options: SeedComparisonOptions = {},
): SeedComparison<K> {
  const where = 'compareSeedFoldAccuracies';
  const scale = options.scale ?? 100;
  const tieTolerance = options.tieTolerance ?? 1e-9 * scale;
  const t = seedEntries(treatment, where, 'treatment');
  const c = seedEntries(control, where, 'control');
  const first = t.values().next();
  if (first.done) throw new Error(`${where}: treatment has no seeds`);
  const folds = first.value.length;
  if (!(folds >= 1)) throw new Error(`${where}: the first treatment seed has no fold accuracies`);
  for (const [seed, v] of t) checkFoldAccuracies(v, folds, where, `treatment seed ${String(seed)}`);
  for (const [seed, v] of c) checkFoldAccuracies(v, folds, where, `control seed ${String(seed)}`);
  const seeds = sortSeeds([...t.keys()].filter((s) => c.has(s)));
  const unpaired = {
    treatmentOnly: sortSeeds([...t.keys()].filter((s) => !c.has(s))),
    controlOnly: sortSeeds([...c.keys()].filter((s) => !t.has(s))),
  };
  if (seeds.length === 0) {
    throw new Error(
      `${where}: no seed is in both sets (treatment: ${unpaired.treatmentOnly.join(', ') || 'none'}; ` +
        `control: ${unpaired.controlOnly.join(', ') || 'none'})`,
    );
  }
  const unit = unitName(scale);
  const common = { confidence: options.confidence, scale, tieTolerance };
  const foldT: number[] = [];
  const foldC: number[] = [];
  for (const s of seeds) {
    const a = t.get(s)!;
    const b = c.get(s)!;
    for (let f = 0; f < folds; f++) {
      foldT.push(a[f]);
      foldC.push(b[f]);
    }
  }
  if (foldT.length < 2) throw new Error(`${where}: one seed with one fold is not enough for a per-fold interval`);
  const perFold = pairedDifference(foldT, foldC, {
    ...common,
    unit: `${unit}; one difference per (seed, LFW fold): the same fold of the same seed`,
  });
  const base = { seeds, unpaired, folds, perFold };
  if (seeds.length < 2) {
    return {
      ...base,
      perSeed: null,
      perSeedNote: `only ${seeds.length} seed in both sets: a per-seed interval needs at least 2`,
    };
  }
  const perSeed = pairedDifference(
    seeds.map((s) => mean(t.get(s)!)),
    seeds.map((s) => mean(c.get(s)!)),
    { ...common, unit: `${unit}; one difference per seed: the difference of the seeds' ${folds}-fold mean accuracies` },
  );
  return { ...base, perSeed };
}

// ---------------------------------------------------------------------------------------------------------
// Page's L trend test
// ---------------------------------------------------------------------------------------------------------

/**
 * Reference distribution of L when a block has ties:
 * - 'conditional' (default): each block's own mid-ranks are permuted over the treatments (all k! orders
 *   equally likely), i.e. the exact permutation test given the observed ties; the normal approximation uses
 *   the variance of that distribution. Without ties it is Page's null distribution.
 * - 'untied-null': as if there were no ties (ranks 1…k in every block), as Page's tables and
 *   scipy.stats.page_trend_test do; L itself is still computed from mid-ranks (may end in .5).
 */
export type PageTies = 'conditional' | 'untied-null';

export interface PageTrendOptions {
  /**
   * 'auto' (default): exact when k ≤ 8 and the convolution is small (see PAGE_EXACT_WORK_LIMIT), else normal.
   * 'exact' throws when k > 8.
   */
  readonly method?: 'auto' | 'exact' | 'normal';
  readonly ties?: PageTies;
  /** Within a block, sorted values less than or equal to this apart are tied (chained). Default 0 (exact equality). */
  readonly tieTolerance?: number;
}

export interface PageTrendResult {
  /** Page's L = Σ_j j · R_j, R_j the sum over blocks of treatment j's (mid-)rank, j = 1…k in hypothesised order. */
  readonly L: number;
  /** Treatments (columns). */
  readonly k: number;
  /** Blocks (rows, e.g. seeds). */
  readonly n: number;
  /** One-sided P(L ≥ L_observed) under H0 (no treatment effect: every within-block order equally likely). */
  readonly pValue: number;
  readonly method: 'exact' | 'normal';
  /** (L − E[L]) / √Var[L], with the moments of the chosen reference distribution; only for method 'normal'. */
  readonly z?: number;
  /** E[L] = n k (k+1)² / 4. */
  readonly expectedL: number;
  /** Var[L]: n k²(k+1)(k²−1)/144 without ties (or with ties: 'untied-null'); the conditional variance otherwise. */
  readonly varianceL: number;
  readonly ties: PageTies;
  /** Blocks with at least one tie. */
  readonly tiedBlocks: number;
  /** R_j, the rank sums per treatment. */
  readonly rankSums: number[];
  /** The within-block mid-ranks (1 = smallest value). */
  readonly ranks: number[][];
}

/** Bound on the exact convolution's work (support length × block support length, summed over blocks) under 'auto'. */
export const PAGE_EXACT_WORK_LIMIT = 2e7;
/** Largest k for the exact distribution (k! orders are enumerated per distinct tie pattern). */
export const PAGE_EXACT_MAX_K = 8;

/** Mid-ranks (1 = smallest) of one block; values within `tolerance` of their sorted neighbour are tied. */
export function midRanks(values: ArrayLike<number>, tolerance = 0): number[] {
  const k = values.length;
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(k);
  let start = 0;
  while (start < k) {
    let end = start;
    while (end + 1 < k && values[order[end + 1]] - values[order[end]] <= tolerance) end++;
    const r = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) ranks[order[i]] = r;
    start = end + 1;
  }
  return ranks;
}

/** All k! orders of `items` (Heap's algorithm), calling visit with the current arrangement. */
function forEachPermutation(items: number[], visit: (arrangement: number[]) => void): void {
  const a = [...items];
  const k = a.length;
  const c = new Array<number>(k).fill(0);
  visit(a);
  let i = 1;
  while (i < k) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      [a[j], a[i]] = [a[i], a[j]];
      visit(a);
      c[i]++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

/** Distribution of 2 Σ_j j·r_π(j) over the k! orders π of one block's mid-ranks r: {offset, probabilities}. */
function blockDistribution(ranks: number[]): { offset: number; probs: Float64Array } {
  const counts = new Map<number, number>();
  let total = 0;
  forEachPermutation(
    ranks.map((r) => Math.round(2 * r)),
    (a) => {
      let s = 0;
      for (let j = 0; j < a.length; j++) s += (j + 1) * a[j];
      counts.set(s, (counts.get(s) ?? 0) + 1);
      total++;
    },
  );
  const keys = [...counts.keys()];
  const lo = Math.min(...keys);
  const hi = Math.max(...keys);
  const probs = new Float64Array(hi - lo + 1);
  for (const [s, cnt] of counts) probs[s - lo] = cnt / total;
  return { offset: lo, probs };
}

function referenceRanks(ranks: number[][], ties: PageTies): number[][] {
  if (ties === 'conditional') return ranks;
  const k = ranks[0].length;
  const plain = Array.from({ length: k }, (_, j) => j + 1);
  return ranks.map(() => plain);
}

/**
 * Exact null distribution of L for blocks with the given within-block (mid-)ranks: the convolution of the
 * per-block distributions of Σ_j j·r_π(j) over the k! equally likely orders π. `values[i]` are the possible
 * L (multiples of ½), `probabilities[i]` their probabilities (entries of probability 0 inside the range kept).
 */
export function pageNullDistribution(
  ranks: number[][],
  ties: PageTies = 'conditional',
): { values: number[]; probabilities: Float64Array } {
  const rows = referenceRanks(ranks, ties);
  const cache = new Map<string, { offset: number; probs: Float64Array }>();
  let offset = 0;
  let dist = new Float64Array([1]);
  for (const row of rows) {
    const key = [...row].sort((a, b) => a - b).join(',');
    let block = cache.get(key);
    if (!block) {
      block = blockDistribution(row);
      cache.set(key, block);
    }
    const next = new Float64Array(dist.length + block.probs.length - 1);
    for (let i = 0; i < dist.length; i++) {
      const p = dist[i];
      if (p === 0) continue;
      for (let j = 0; j < block.probs.length; j++) next[i + j] += p * block.probs[j];
    }
    dist = next;
    offset += block.offset;
  }
  return { values: Array.from(dist, (_, i) => (offset + i) / 2), probabilities: dist };
}

function checkBlocks(blocks: ReadonlyArray<ArrayLike<number>>, where: string): number {
  if (!Array.isArray(blocks) || blocks.length === 0) {
    throw new Error(`${where}: blocks must be a non-empty array of rows`);
  }
  const k = blocks[0].length;
  if (!(k >= 2)) throw new Error(`${where}: a trend needs at least 2 treatments (columns), got ${k}`);
  blocks.forEach((row, i) => {
    if (row.length !== k) throw new Error(`${where}: block ${i} has ${row.length} treatments but block 0 has ${k}`);
    for (let j = 0; j < k; j++) {
      if (typeof row[j] !== 'number' || !Number.isFinite(row[j])) {
        throw new Error(`${where}: block ${i} treatment ${j} is ${row[j]}, not a finite number`);
      }
    }
  });
  return k;
}

/**
 * Page's L test (Page 1963) for the ordered alternative m_1 ≤ m_2 ≤ … ≤ m_k (at least one strict): rows are
 * blocks (e.g. seeds), columns the treatments in the hypothesised increasing order. Values are ranked within
 * each block (mid-ranks for ties), L = Σ_j j · R_j, and the p-value is the one-sided P(L ≥ L_obs) under H0.
 *
 * - 'exact': the null distribution by convolving the per-block distributions of Σ_j j·r_π(j) over the k!
 *   equally likely orders (with ties, see PageTies); exact up to float64 summation.
 * - 'normal': z = (L − E[L]) / √Var[L] against the standard normal, no continuity correction (as Page's
 *   χ²_L and scipy's 'asymptotic'); Var[L] = 0 (every block fully tied, 'conditional') gives z = 0, p = 1.
 */
export function pageTrendTest(blocks: ReadonlyArray<ArrayLike<number>>, options: PageTrendOptions = {}): PageTrendResult {
  const where = 'pageTrendTest';
  const k = checkBlocks(blocks, where);
  const n = blocks.length;
  const method = options.method ?? 'auto';
  const ties = options.ties ?? 'conditional';
  const tolerance = options.tieTolerance ?? 0;
  if (method !== 'auto' && method !== 'exact' && method !== 'normal') {
    throw new Error(`${where}: unknown method ${String(method)}`);
  }
  if (ties !== 'conditional' && ties !== 'untied-null') {
    throw new Error(`${where}: unknown ties option ${String(ties)}`);
  }
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new Error(`${where}: tieTolerance must be ≥ 0 and finite, got ${tolerance}`);
  }

  const ranks = blocks.map((row) => midRanks(row, tolerance));
  const tiedBlocks = ranks.filter((r) => new Set(r).size < k).length;
  const rankSums = Array.from({ length: k }, (_, j) => ranks.reduce((s, r) => s + r[j], 0));
  // 2L is an integer (mid-ranks are multiples of ½): sum it exactly.
  let twiceL = 0;
  for (const r of ranks) for (let j = 0; j < k; j++) twiceL += (j + 1) * Math.round(2 * r[j]);
  const L = twiceL / 2;

  const expectedL = (n * k * (k + 1) ** 2) / 4;
  const sxx = (k * (k * k - 1)) / 12; // Σ_j (j − (k+1)/2)²
  let varianceL = 0;
  for (const r of referenceRanks(ranks, ties)) {
    let srr = 0;
    for (const v of r) srr += (v - (k + 1) / 2) ** 2;
    varianceL += (sxx * srr) / (k - 1); // variance of a permutation statistic Σ a_j b_π(j)
  }

  const range2 = (k * k * k - k) / 3 + 1; // support length of one block's 2Σ j·r
  const exactWork = (n * (n + 1) * range2 * range2) / 2;
  const useExact = method === 'exact' || (method === 'auto' && k <= PAGE_EXACT_MAX_K && exactWork <= PAGE_EXACT_WORK_LIMIT);
  if (useExact && k > PAGE_EXACT_MAX_K) {
    throw new Error(`${where}: the exact distribution is limited to k ≤ ${PAGE_EXACT_MAX_K} treatments (got ${k}); use method 'normal'`);
  }
  const base = { L, k, n, expectedL, varianceL, ties, tiedBlocks, rankSums, ranks };
  if (useExact) {
    const { values, probabilities } = pageNullDistribution(ranks, ties);
    // Sum the smaller side: the upper tail itself when small, else 1 − the lower tail (exactly 1 at the minimum).
    let upper = 0;
    let lower = 0;
    for (let i = 0; i < probabilities.length; i++) {
      if (values[i] >= L) upper += probabilities[i];
      else lower += probabilities[i];
    }
    const pValue = upper <= 0.5 ? upper : Math.max(0, 1 - lower);
    return { ...base, pValue: Math.min(1, pValue), method: 'exact' };
  }
  if (varianceL === 0) return { ...base, pValue: 1, method: 'normal', z: 0 };
  const z = (L - expectedL) / Math.sqrt(varianceL);
  return { ...base, pValue: normalSurvival(z), method: 'normal', z };
}

export interface PageTrendOverSeedsResult<K> extends PageTrendResult {
  /** Seeds present in every variant (the blocks, in this order). */
  readonly seeds: K[];
  /** Seeds missing from at least one variant; left out. */
  readonly droppedSeeds: K[];
}

/**
 * Page's test on per-seed mean accuracies: `variants` in the hypothesised increasing order (e.g. A-Softmax
 * m = 1, 2, 3, 4), each per-seed fold accuracies; blocks = seeds present in every variant, value = the seed's
 * mean fold accuracy. Ties use tieTolerance (default 1e-12: means of fractions in steps of 1/600 that differ
 * by less are float rounding).
 */
export function pageTrendOverSeeds<K extends string | number>(
  variants: ReadonlyArray<SeedFoldAccuracies<K>>,
  options: PageTrendOptions = {},
): PageTrendOverSeedsResult<K> {
  const where = 'pageTrendOverSeeds';
  if (!Array.isArray(variants) || variants.length < 2) {
    throw new Error(`${where}: needs at least 2 variants in hypothesised order`);
  }
  const sets = variants.map((v, i) => seedEntries<K>(v, where, `variant ${i}`));
  const all = new Set<K>();
  for (const s of sets) for (const seed of s.keys()) all.add(seed);
  const seeds = sortSeeds([...all].filter((seed) => sets.every((s) => s.has(seed))));
  const droppedSeeds = sortSeeds([...all].filter((seed) => !sets.every((s) => s.has(seed))));
  if (seeds.length === 0) throw new Error(`${where}: no seed is present in every variant`);
  const blocks = seeds.map((seed) =>
    sets.map((s, i) => {
      const v = s.get(seed)!;
      checkFoldAccuracies(v, v.length, where, `variant ${i} seed ${String(seed)}`);
      if (v.length === 0) throw new Error(`${where}: variant ${i} seed ${String(seed)} has no fold accuracies`);
      return mean(v);
    }),
  );
  const result = pageTrendTest(blocks, { ...options, tieTolerance: options.tieTolerance ?? 1e-12 });
  return { ...result, seeds, droppedSeeds };
}
