import { describe, expect, it } from 'vitest';
import {
  compareSeedFoldAccuracies,
  logGamma,
  midRanks,
  normalSurvival,
  pageNullDistribution,
  pageTrendOverSeeds,
  pageTrendTest,
  pairedDifference,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
} from './paired';

/** |actual − expected| ≤ rel · |expected|. */
const expectRel = (actual: number, expected: number, rel: number) => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
};

describe('special functions', () => {
  it('logGamma: factorials and Γ(½) = √π', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-15);
    expectRel(logGamma(11), Math.log(3628800), 1e-14);
    expectRel(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    expectRel(logGamma(0.1), Math.log(9.513507698668731836), 1e-14); // Γ(0.1), reflection branch
    expect(() => logGamma(0)).toThrow(/positive/);
  });

  it('regularizedIncompleteBeta: closed forms and mpmath values', () => {
    for (const x of [0.01, 0.2, 0.5, 0.77, 0.999]) {
      expectRel(regularizedIncompleteBeta(x, 1, 3.5), 1 - (1 - x) ** 3.5, 1e-13); // I_x(1, b) = 1 − (1 − x)^b
      expectRel(regularizedIncompleteBeta(x, 2.5, 1), x ** 2.5, 1e-13); // I_x(a, 1) = x^a
      expectRel(regularizedIncompleteBeta(x, 2, 2), 3 * x * x - 2 * x ** 3, 1e-13);
    }
    expect(regularizedIncompleteBeta(0.5, 7.3, 7.3)).toBeCloseTo(0.5, 13);
    // mpmath.betainc(a, b, 0, x, regularized=True) at 30 digits.
    expectRel(regularizedIncompleteBeta(0.3, 2.5, 7.25), 0.6604822735819072217964, 1e-13);
    expectRel(regularizedIncompleteBeta(0.9, 50, 3), 0.09663328513725220887111, 1e-13);
    expectRel(regularizedIncompleteBeta(0.01, 0.5, 0.5), 0.06376856085851984858279, 1e-13);
    expectRel(regularizedIncompleteBeta(0.45, 200, 300), 0.9881463456202628812447, 1e-12);
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
    expect(() => regularizedIncompleteBeta(1.5, 2, 3)).toThrow(/x must be in/);
  });

  // t_{0.975, df}: mpmath 1.3 at 40 digits, root of ½ I_{ν/(ν+t²)}(ν/2, ½) = 0.025 (scipy 1.17.1's t.ppf
  // agrees to ≤ 2 ulp). The df = 9 value 2.2621571628540993 quoted in the brief is wrong in the 11th
  // digit; 2.262157162798205… is what mpmath, scipy and the closed-form-free bisection all give.
  const T975: Array<[number, number]> = [
    [1, 12.70620473617470464602168],
    [2, 4.302652729749463852320944],
    [4, 2.776445105197794357803105],
    [9, 2.26215716279820554260777],
    [29, 2.045229642132704298193772],
    [100, 1.983971518523552286595185],
    [1000, 1.96233908082640848499858],
  ];

  it('studentTQuantile(0.975, df) matches 25-digit values to 1e-12 (relative)', () => {
    for (const [df, t] of T975) expectRel(studentTQuantile(0.975, df), t, 1e-12);
  });

  it('studentTQuantile matches the closed forms for df = 1, 2, 4 (e.g. Hill 1970; Wikipedia "Student\'s t-distribution")', () => {
    for (const p of [0.6, 0.9, 0.975, 0.995, 0.9999, 0.3, 0.025]) {
      expectRel(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-12);
      const a = 4 * p * (1 - p);
      expectRel(studentTQuantile(p, 2), (2 * p - 1) * Math.sqrt(2 / a), 1e-12);
      const q = Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a);
      expectRel(studentTQuantile(p, 4), Math.sign(p - 0.5) * 2 * Math.sqrt(q - 1), 1e-11);
    }
  });

  it('studentTQuantile: other levels, non-integer df, symmetry, round trip', () => {
    // mpmath, 40 digits.
    expectRel(studentTQuantile(0.995, 3), 5.840909309733357260681947, 1e-12);
    expectRel(studentTQuantile(0.9, 5), 1.475884048824481078546459, 1e-12);
    expectRel(studentTQuantile(0.999, 9), 4.296805662729918486055641, 1e-12);
    expectRel(studentTQuantile(0.975, 2.5), 3.574654842003683218451814, 1e-12);
    expect(studentTQuantile(0.25, 9)).toBe(-studentTQuantile(0.75, 9)); // 1 − 0.75 = 0.25 exactly
    expect(studentTQuantile(0.5, 7)).toBe(0);
    for (const df of [1, 3, 30]) for (const p of [0.01, 0.4, 0.8, 0.999]) expectRel(studentTCdf(studentTQuantile(p, df), df), p, 1e-12);
    expect(() => studentTQuantile(1, 3)).toThrow(/p must be in/);
    expect(() => studentTQuantile(0.9, 0)).toThrow(/degrees of freedom/);
  });

  it('studentTCdf: closed forms for df = 1, 2 and mpmath values', () => {
    for (const t of [-30, -2, -0.5, 0, 0.3, 1, 4, 100]) {
      expectRel(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13);
      expectRel(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13);
    }
    expectRel(studentTCdf(2, 3), 0.9303370157205784115759523, 1e-13);
    expectRel(studentTCdf(-1.5, 10), 0.08225366322272009042463044, 1e-12);
    expectRel(studentTCdf(0.3, 29), 0.6168414533355161271946193, 1e-13);
    expectRel(1 - studentTCdf(10, 7), 0.00001069710144538640593384387, 1e-9); // 1 − cdf loses digits here
    expectRel(studentTCdf(-10, 7), 0.00001069710144538640593384387, 1e-12); // the tail itself does not
    expectRel(studentTCdf(1.7, 2.5), 0.8971938914200580773501524, 1e-13);
    expect(() => studentTCdf(NaN, 3)).toThrow(/NaN/);
  });

  it('normalSurvival against mpmath erfc', () => {
    expectRel(normalSurvival(1), 0.1586552539314570514148, 1e-13);
    expectRel(normalSurvival(-1), 0.8413447460685429485852, 1e-13);
    expectRel(normalSurvival(1.959963984540054), 0.02500000000000001376525, 1e-13);
    expectRel(normalSurvival(0.3), 0.3820885778110473626935, 1e-13);
    expectRel(normalSurvival(5), 2.866515718791939116738e-7, 1e-12);
    expectRel(normalSurvival(10), 7.619853024160526065973e-24, 1e-12);
    expect(normalSurvival(0)).toBe(0.5);
  });
});

describe('pairedDifference', () => {
  it('hand case: d = (2, 1, 0, 3, 2)', () => {
    const r = pairedDifference([3, 5, 4, 6, 7], [1, 4, 4, 3, 5]);
    // mean 1.6; Σ(d − 1.6)² = 0.16 + 0.36 + 2.56 + 1.96 + 0.16 = 5.2; s² = 1.3; SE = √(1.3/5) = √0.26.
    expect(r.n).toBe(5);
    expect(r.mean).toBeCloseTo(1.6, 14);
    expect(r.sd).toBeCloseTo(Math.sqrt(1.3), 14);
    expect(r.standardError).toBeCloseTo(Math.sqrt(0.26), 14);
    expect(r.df).toBe(4);
    expectRel(r.tQuantile, 2.776445105197794357803105, 1e-12);
    const half = 2.776445105197794357803105 * Math.sqrt(0.26);
    expect(r.interval[0]).toBeCloseTo(1.6 - half, 12);
    expect(r.interval[1]).toBeCloseTo(1.6 + half, 12);
    expect(r.confidence).toBe(0.95);
    expect([r.improved, r.tied, r.worsened]).toEqual([4, 1, 0]);
    expect([r.shareImproved, r.shareTied, r.shareWorsened]).toEqual([0.8, 0.2, 0]);
    expect(r.differences).toEqual([2, 1, 0, 3, 2]);
  });

  it('scale, confidence, unit and tie tolerance', () => {
    const r = pairedDifference([0.5, 0.7, 0.4], [0.4, 0.1 * 7, 0.6], { scale: 100, confidence: 0.9, unit: 'pp', tieTolerance: 1e-9 });
    // 0.1 · 7 = 0.7000000000000001: a 1e-14 difference after scaling, a tie within the tolerance.
    // d = (10, 0, −20) percentage points (up to rounding): mean −10/3, s² = ((40/3)² + (10/3)² + (50/3)²)/2 = 700/3.
    expect(r.mean).toBeCloseTo(-10 / 3, 10);
    expect(r.sd).toBeCloseTo(Math.sqrt(700 / 3), 10);
    expectRel(r.tQuantile, 0.9 * Math.sqrt(2 / (4 * 0.95 * 0.05)), 1e-12); // t_{0.95, 2}, df = 2 closed form
    expect([r.improved, r.tied, r.worsened]).toEqual([1, 1, 1]);
    expect(r.unit).toBe('pp');
  });

  it('zero spread gives a degenerate interval', () => {
    const r = pairedDifference([2, 3, 4], [1, 2, 3]);
    expect(r.sd).toBe(0);
    expect(r.interval).toEqual([1, 1]);
  });

  it('rejects unpaired, too short and non-finite input', () => {
    expect(() => pairedDifference([1, 2, 3], [1, 2])).toThrow(/treatment has 3 values but control has 2/);
    expect(() => pairedDifference([1], [0])).toThrow(/at least 2 pairs, got 1/);
    expect(() => pairedDifference([1, NaN], [0, 0])).toThrow(/treatment\[1\] is NaN/);
    expect(() => pairedDifference([1, 2], [0, Infinity])).toThrow(/control\[1\] is Infinity/);
    expect(() => pairedDifference([1, 2], [0, 1], { confidence: 95 })).toThrow(/confidence must be in \(0, 1\)/);
  });
});

describe('compareSeedFoldAccuracies', () => {
  const f = (...counts: number[]) => counts.map((c) => c / 600); // fold accuracies from correct counts
  // 4 folds per seed (LFW has 10; the helper takes what the records hold). Seeds 1 and 4 are unpaired.
  const treatment = new Map<number, number[]>([
    [3, f(594, 596, 590, 598)],
    [1, f(580, 580, 580, 580)],
    [2, f(595, 592, 597, 591)],
  ]);
  const control = new Map<number, number[]>([
    [2, f(593, 592, 598, 588)],
    [3, f(590, 597, 590, 593)],
    [4, f(500, 500, 500, 500)],
  ]);

  it('pairs shared seeds, per seed and per fold, in percentage points', () => {
    const r = compareSeedFoldAccuracies(treatment, control);
    expect(r.seeds).toEqual([2, 3]);
    expect(r.unpaired).toEqual({ treatmentOnly: [1], controlOnly: [4] });
    expect(r.folds).toBe(4);
    // Per fold (seed 2 then 3), correct-count differences (+2, 0, −1, +3, +4, −1, 0, +5), × 100/600 points.
    const foldCounts = [2, 0, -1, 3, 4, -1, 0, 5];
    expect(r.perFold.n).toBe(8);
    r.perFold.differences.forEach((d, i) => expect(d).toBeCloseTo((foldCounts[i] * 100) / 600, 12));
    expect(r.perFold.mean).toBeCloseTo((12 / 8) * (100 / 600), 12);
    expect([r.perFold.improved, r.perFold.tied, r.perFold.worsened]).toEqual([4, 2, 2]);
    expect(r.perFold.df).toBe(7);
    expect(r.perFold.unit).toMatch(/percentage points.*per \(seed, LFW fold\)/);
    // Per seed: seed 2 mean difference 4/2400 = 1/6 point, seed 3: 8/2400 = 1/3 point.
    expect(r.perSeed).not.toBeNull();
    const s = r.perSeed!;
    expect(s.n).toBe(2);
    expect(s.differences[0]).toBeCloseTo(100 / 600, 12);
    expect(s.differences[1]).toBeCloseTo(200 / 600, 12);
    expect(s.mean).toBeCloseTo(0.25, 12);
    // n = 2: sd = |d1 − d2|/√2, SE = |d1 − d2|/2 = 1/12; t_{0.975,1} = tan(0.475π).
    expect(s.standardError).toBeCloseTo(1 / 12, 12);
    expect(s.interval[1] - s.mean).toBeCloseTo(Math.tan(0.475 * Math.PI) / 12, 10);
    expect(s.unit).toMatch(/percentage points.*per seed/);
    expect([s.improved, s.tied, s.worsened]).toEqual([2, 0, 0]);
  });

  it('records keyed by seed sort numerically; scale 1 reports fractions', () => {
    const r = compareSeedFoldAccuracies(
      { '10': f(600, 590), '9': f(590, 590), '2': f(580, 580) },
      { '2': f(570, 580), '9': f(590, 600), '10': f(590, 590) },
      { scale: 1 },
    );
    expect(r.seeds).toEqual(['2', '9', '10']);
    expect(r.perSeed!.unit).toMatch(/fraction/);
    expect(r.perSeed!.differences[0]).toBeCloseTo(5 / 600, 14);
  });

  it('a single shared seed: no per-seed interval, still a per-fold one', () => {
    const r = compareSeedFoldAccuracies(new Map([[7, f(1, 2, 3)]]), new Map([[7, f(0, 2, 2)], [8, f(1, 1, 1)]]));
    expect(r.perSeed).toBeNull();
    expect(r.perSeedNote).toMatch(/only 1 seed/);
    expect(r.perFold.n).toBe(3);
    expect(r.unpaired.controlOnly).toEqual([8]);
  });

  it('per-seed means equal up to float rounding count as ties', () => {
    // The same fold accuracies in reverse order: their float means differ by 1.1e-16.
    const a = f(565, 577, 590, 568, 585, 581, 594, 588, 560, 584);
    const b = [...a].reverse();
    const m = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(m(a)).not.toBe(m(b));
    const r = compareSeedFoldAccuracies({ s1: a, s2: a }, { s1: b, s2: a });
    expect(r.perSeed!.tied).toBe(2);
  });

  it('rejects unshared seeds, mismatched folds, percentages and NaN', () => {
    expect(() => compareSeedFoldAccuracies(new Map([[1, f(1, 2)]]), new Map([[2, f(1, 2)]]))).toThrow(/no seed is in both sets \(treatment: 1; control: 2\)/);
    expect(() => compareSeedFoldAccuracies(new Map([[1, f(1, 2)]]), new Map([[1, f(1, 2, 3)]]))).toThrow(/control seed 1 has 3 fold accuracies/);
    expect(() => compareSeedFoldAccuracies({ a: [99.1, 99.2] }, { a: [0.99, 0.99] })).toThrow(/treatment seed a fold 1 is 99.1; .*not percentages/);
    expect(() => compareSeedFoldAccuracies({ a: [0.9, NaN] }, { a: [0.99, 0.99] })).toThrow(/treatment seed a fold 2 is NaN/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Page's L test
// ---------------------------------------------------------------------------------------------------------

/** All orders of `items` (recursive; independent of the library's Heap's algorithm). */
const permutations = (items: number[]): number[][] =>
  items.length <= 1 ? [items] : items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));

/** Brute force: L over every combination of one order per block, all (k!)^n of them equally likely. */
function bruteForceL(ranks: number[][]): number[] {
  let sums = [0];
  for (const row of ranks) {
    const blockLs = permutations(row).map((p) => p.reduce((s, r, j) => s + (j + 1) * r, 0));
    sums = sums.flatMap((s) => blockLs.map((b) => s + b));
  }
  return sums;
}
const bruteForceP = (ranks: number[][], L: number) => {
  const all = bruteForceL(ranks);
  return all.filter((l) => l >= L - 1e-9).length / all.length;
};

describe('pageTrendTest', () => {
  it('hand cases, k = 3: Σ j·π(j) over the 6 orders is 14, 13, 13, 11, 11, 10', () => {
    const one = pageTrendTest([[1, 2, 3]]);
    expect(one.L).toBe(14);
    expect(one.pValue).toBeCloseTo(1 / 6, 15);
    expect(one.method).toBe('exact');
    expect(pageTrendTest([[0.1, 0.3, 0.2]]).pValue).toBeCloseTo(3 / 6, 15); // L = 13
    expect(pageTrendTest([[5, 4, 3]]).pValue).toBe(1); // L = 10, the minimum
    const two = pageTrendTest([
      [1, 2, 3],
      [10, 20, 30],
    ]);
    expect(two.L).toBe(28);
    expect(two.pValue).toBeCloseTo(1 / 36, 15);
    // L = 27 (14 + 13): P(L ≥ 27) = (1 + 2·2) / 36.
    expect(pageTrendTest([[1, 2, 3], [1, 3, 2]]).pValue).toBeCloseTo(5 / 36, 15);
    expect(two.expectedL).toBe(24); // n k (k+1)²/4
    expect(two.varianceL).toBeCloseTo(4, 14); // n k²(k+1)(k²−1)/144 = 2·9·4·8/144
    expect(two.rankSums).toEqual([2, 4, 6]);
  });

  it("Page (1963, JASA 58:216) example: L = 168, exact p = 0.0053161, below Page's α = 0.01 critical value 167", () => {
    // Page's 6 subjects × 4 treatments rank table as transcribed at https://max.pm/posts/page_l/ (which
    // reports L = 168, χ²_L = 6.48, two-sided χ² p 0.0109095, and Page's exact 1 % critical value 167 for
    // m = 6, n = 4). The exact p and the normal p are scipy.stats.page_trend_test (scipy 1.17.1, Odeh's 1977
    // recursion / its 'asymptotic' method) on this table.
    const X = [
      [2, 1, 3, 4],
      [1, 3, 4, 2],
      [1, 3, 2, 4],
      [1, 4, 2, 3],
      [3, 1, 2, 4],
      [1, 2, 4, 3],
    ];
    const exact = pageTrendTest(X);
    expect(exact.L).toBe(168);
    expect(exact.method).toBe('exact');
    expectRel(exact.pValue, 0.005316091990111132, 1e-12);
    const normal = pageTrendTest(X, { method: 'normal' });
    expect(normal.method).toBe('normal');
    expect(normal.z! ** 2).toBeCloseTo(6.48, 12); // Page's χ²_L
    expectRel(normal.pValue, 0.005454749182134642, 1e-12);
    expectRel(2 * normal.pValue, 0.0109095, 1e-5); // max.pm's two-sided χ² p
  });

  it("Page's table of critical values (α one-sided): P(L ≥ c) ≤ α < P(L ≥ c − 1)", () => {
    // k = 4, m = 6, α = 0.01: 167 (Page 1963, via max.pm above). k = 3, α = 0.05: 91 for 7 subjects,
    // 128 for 10, 190 for 15, 251 for 20 (Wikipedia, "Page's trend test", quoting Page's table).
    const untied = (n: number, k: number) => Array.from({ length: n }, () => Array.from({ length: k }, (_, j) => j + 1));
    const tail = (n: number, k: number, c: number) => {
      const d = pageNullDistribution(untied(n, k));
      return d.values.reduce((s, v, i) => (v >= c ? s + d.probabilities[i] : s), 0);
    };
    const cases: Array<[number, number, number, number]> = [
      [4, 6, 0.01, 167],
      [3, 7, 0.05, 91],
      [3, 10, 0.05, 128],
      [3, 15, 0.05, 190],
      [3, 20, 0.05, 251],
    ];
    for (const [k, n, alpha, c] of cases) {
      expect(tail(n, k, c)).toBeLessThanOrEqual(alpha);
      expect(tail(n, k, c - 1)).toBeGreaterThan(alpha);
    }
  });

  it('teaching-methods example with ties (Statext, in scipy.stats.page_trend_test docs): L = 133.5', () => {
    // 10 students rate tutorial, lecture, seminar (hypothesised increasing). scipy 1.17.1 reports L = 133.5,
    // 'asymptotic' p = 0.0012693433690751756 (as Statext: untied variance) and 'exact' p = 0.0018191161948127822,
    // which is the untied-null P(L ≥ 133): scipy truncates L to an integer. ties: 'untied-null' gives the
    // untied-null P(L ≥ 133.5) = P(L ≥ 134) instead; the default 'conditional' permutes each student's own
    // mid-ranks (exact permutation test given the ties).
    const table = [
      [3, 4, 3],
      [2, 2, 4],
      [3, 3, 5],
      [1, 3, 2],
      [2, 3, 2],
      [2, 4, 5],
      [1, 2, 4],
      [3, 4, 4],
      [2, 4, 5],
      [1, 3, 4],
    ];
    const untiedNormal = pageTrendTest(table, { method: 'normal', ties: 'untied-null' });
    expect(untiedNormal.L).toBe(133.5);
    expect(untiedNormal.tiedBlocks).toBe(5);
    expectRel(untiedNormal.pValue, 0.0012693433690751756, 1e-12);
    const untiedExact = pageTrendTest(table, { ties: 'untied-null' });
    expect(untiedExact.method).toBe('exact');
    const d = pageNullDistribution(pageTrendTest(table).ranks, 'untied-null');
    const tailAt = (c: number) => d.values.reduce((s, v, i) => (v >= c ? s + d.probabilities[i] : s), 0);
    expectRel(tailAt(133), 0.0018191161948127822, 1e-12);
    expectRel(untiedExact.pValue, tailAt(134), 1e-15);
    // Conditional: brute force over the 6^5 orders of the five untied students and the 3^5 distinct orders
    // (each twice) of the five tied ones is what the convolution computes; check it on the first 6 students
    // here (6^6 combinations) and in the brute-force test below.
    const six = table.slice(0, 6);
    const r6 = pageTrendTest(six);
    expectRel(r6.pValue, bruteForceP(r6.ranks, r6.L), 1e-12);
    const conditional = pageTrendTest(table);
    expect(conditional.pValue).toBeLessThan(untiedExact.pValue); // ties shrink the conditional spread
    expect(conditional.varianceL).toBeLessThan(untiedNormal.varianceL);
  });

  it('exact p equals brute-force enumeration of all (k!)^n rank orders, with and without ties', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const designs: Array<[number, number, number]> = [
      [3, 4, 10], // k, n, distinct values per cell (few values → ties)
      [3, 5, 3],
      [4, 3, 100],
      [4, 3, 3],
      [5, 2, 4],
      [2, 7, 2],
    ];
    for (const [k, n, levels] of designs) {
      for (let rep = 0; rep < 4; rep++) {
        const blocks = Array.from({ length: n }, () => Array.from({ length: k }, (_, j) => Math.floor(rand() * levels) + (rep % 2) * j));
        const r = pageTrendTest(blocks, { method: 'exact' });
        expectRel(r.pValue, bruteForceP(r.ranks, r.L), 1e-12);
        // The whole distribution, not just one tail.
        const all = bruteForceL(r.ranks);
        const d = pageNullDistribution(r.ranks);
        d.values.forEach((v, i) => {
          expect(d.probabilities[i]).toBeCloseTo(all.filter((l) => Math.abs(l - v) < 1e-9).length / all.length, 14);
        });
      }
    }
  });

  it('the exact distribution has the mean and (conditional) variance used by the normal approximation', () => {
    const cases = [
      [
        [1, 2, 3, 4],
        [2, 2, 5, 1],
        [3, 3, 3, 1],
        [7, 7, 7, 7],
      ],
      [
        [0.2, 0.1, 0.4],
        [0.3, 0.3, 0.1],
        [0.5, 0.6, 0.7],
      ],
    ];
    for (const blocks of cases) {
      for (const ties of ['conditional', 'untied-null'] as const) {
        const r = pageTrendTest(blocks, { ties });
        const d = pageNullDistribution(r.ranks, ties);
        const m = d.values.reduce((s, v, i) => s + v * d.probabilities[i], 0);
        const v = d.values.reduce((s, x, i) => s + (x - m) ** 2 * d.probabilities[i], 0);
        expect(d.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 13);
        expect(m).toBeCloseTo(r.expectedL, 10);
        expect(v).toBeCloseTo(r.varianceL, 10);
      }
    }
  });

  it('normal approximation vs exact on a larger design (k = 4, n = 40)', () => {
    // Without a continuity correction the normal tail at l misses about half the point mass P(L = l) (the
    // exact tail includes all of it); what remains is the O(1/n) skewness/kurtosis error, 0.0007 at most here
    // for tails between 0.001 and 0.999. Tolerance: ½ P(L = l) + 0.002.
    const n = 40;
    const d = pageNullDistribution(Array.from({ length: n }, () => [1, 2, 3, 4]));
    // One order of 1…4 for each block sum Σ j·π(j) = 20…30 (all occur).
    const orderWithSum = new Map(permutations([1, 2, 3, 4]).map((p) => [p.reduce((s, r, j) => s + (j + 1) * r, 0), p]));
    expect([...orderWithSum.keys()].sort((x, y) => x - y)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    let tail = 0;
    let checked = 0;
    for (let i = d.values.length - 1; i >= 0; i--) {
      const p = d.probabilities[i];
      if (p === 0) continue;
      tail += p;
      if (tail < 1e-3 || tail > 0.999) continue;
      const l = d.values[i];
      // A design whose L is l: each block's order chosen so that the block sums add up to l.
      let remaining = l;
      const blocks = Array.from({ length: n }, (_, b) => {
        const target = Math.min(30, Math.max(20, remaining - 20 * (n - b - 1)));
        remaining -= target;
        return orderWithSum.get(target)!;
      });
      const exact = pageTrendTest(blocks, { method: 'exact' });
      const normal = pageTrendTest(blocks, { method: 'normal' });
      expect(exact.L).toBe(l);
      expectRel(exact.pValue, tail, 1e-9);
      expect(Math.abs(normal.pValue - exact.pValue)).toBeLessThanOrEqual(0.5 * p + 0.002);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("method 'auto' picks exact for small designs and normal for large ones", () => {
    expect(pageTrendTest(Array.from({ length: 10 }, () => [1, 2, 3, 4])).method).toBe('exact');
    const big = pageTrendTest(Array.from({ length: 500 }, (_, i) => [i % 3, 1, 2, 3]));
    expect(big.method).toBe('normal');
    expect(big.z).toBeDefined();
    expect(pageTrendTest(Array.from({ length: 3 }, () => [1, 2, 3, 4, 5, 6, 7, 8, 9])).method).toBe('normal');
  });

  it('mid-ranks, tie tolerance, fully tied blocks', () => {
    expect(midRanks([3, 1, 3, 2])).toEqual([3.5, 1, 3.5, 2]);
    expect(midRanks([0.3, 0.1 + 0.2, 0.5], 1e-12)).toEqual([1.5, 1.5, 3]);
    expect(midRanks([0.3, 0.1 + 0.2, 0.5])).toEqual([1, 2, 3]); // 0.1 + 0.2 = 0.30000000000000004
    const flat = pageTrendTest([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(flat.pValue).toBe(1);
    expect(pageTrendTest([[1, 1, 1]], { method: 'normal' })).toMatchObject({ pValue: 1, z: 0 });
  });

  it('rejects bad input', () => {
    expect(() => pageTrendTest([])).toThrow(/non-empty/);
    expect(() => pageTrendTest([[1]])).toThrow(/at least 2 treatments/);
    expect(() => pageTrendTest([[1, 2, 3], [1, 2]])).toThrow(/block 1 has 2 treatments but block 0 has 3/);
    expect(() => pageTrendTest([[1, NaN, 3]])).toThrow(/block 0 treatment 1 is NaN/);
    expect(() => pageTrendTest([[1, 2, 3, 4, 5, 6, 7, 8, 9]], { method: 'exact' })).toThrow(/k ≤ 8/);
  });
});

describe('pageTrendOverSeeds', () => {
  it('blocks are per-seed mean accuracies of the seeds present in every variant', () => {
    const m1 = { '1': [0.9, 0.92], '2': [0.91, 0.91], '3': [0.95, 0.95] };
    const m2 = { '1': [0.95, 0.93], '2': [0.9, 0.9], '3': [0.97, 0.97] };
    const m3 = { '1': [0.96, 0.96], '2': [0.95, 0.95], '4': [0.5, 0.5] };
    const r = pageTrendOverSeeds([m1, m2, m3]);
    expect(r.seeds).toEqual(['1', '2']);
    expect(r.droppedSeeds).toEqual(['3', '4']);
    // Seed 1: means 0.91, 0.94, 0.96 → ranks 1, 2, 3; seed 2: 0.91, 0.90, 0.95 → 2, 1, 3. L = 14 + 13 = 27.
    expect(r.ranks).toEqual([
      [1, 2, 3],
      [2, 1, 3],
    ]);
    expect(r.L).toBe(27);
    expect(r.pValue).toBeCloseTo(5 / 36, 15);
    expect(() => pageTrendOverSeeds([m1])).toThrow(/at least 2 variants/);
    expect(() => pageTrendOverSeeds([{ a: [0.9] }, { b: [0.9] }])).toThrow(/no seed is present in every variant/);
  });
});
