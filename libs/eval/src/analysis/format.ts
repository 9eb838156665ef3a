/** Markdown tables of protocol-step analyses, one row per model (the notebooks display them). */
import { protocolStepCell, STEP_FUSIONS, type ProtocolStepAnalysis, type StepCentring, type StepNormalisation } from './protocol-steps';

export interface LabelledAnalysis {
  /** What the row is, e.g. the loss and the run ID. */
  readonly label: string;
  readonly analysis: ProtocolStepAnalysis;
}

const pct = (x: number) => (100 * x).toFixed(2);
const num = (x: number, digits = 3) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(digits));

/** The processing columns of the grid, in the order the table shows them. */
const COLUMNS: ReadonlyArray<[string, StepCentring, StepNormalisation]> = [
  ['mean + L2 (evaluation.m)', 'mean', 'l2'],
  ['unit mean + L2', 'unit-mean', 'l2'],
  ['L2 only', 'none', 'l2'],
  ['no L2 (−distance)', 'none', 'none'],
];

/**
 * Two tables: the features (norms, the mean against the spread) and the accuracy grid. Grid cells read
 * "threshold from the other 9 folds / best threshold over all pairs · AUC"; the canonical protocol is the
 * concat row's first column, no-flip the original row's, best-threshold the second number of the sum row's
 * "L2 only" column.
 */
export function protocolStepsMarkdown(rows: readonly LabelledAnalysis[]): string {
  const features = [
    '| model | ‖x‖ mean ± sd (min–max) | ‖[o; f]‖ mean ± sd | ‖μ‖ / spread (concat) | per-fold ‖μ_f‖ / spread | mean cos⟨x, μ⟩ | variance share along μ | corr(‖x‖, along μ) | mean resultant length |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(({ label, analysis: a }) => {
      const o = a.norms.original;
      const c = a.norms.concat;
      const m = a.mean.concat;
      const ratios = m.perFold.map((f) => f.ratio);
      return (
        `| ${label} | ${num(o.mean)} ± ${num(o.sd)} (${num(o.min)}–${num(o.max)}) | ${num(c.mean)} ± ${num(c.sd)} | ` +
        `${num(m.meanNorm)} / ${num(m.spread)} = ${m.ratio.toFixed(2)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ` +
        `${m.meanCosine.toFixed(3)} | ${m.varianceShareAlongMean.toFixed(3)} | ${m.normCorrelationAlongMean.toFixed(2)} | ${m.meanResultantLength.toFixed(3)} |`
      );
    }),
  ];
  const grid = [
    `| model | fusion | ${COLUMNS.map(([title]) => title).join(' | ')} |`,
    `|---|---|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.flatMap(({ label, analysis: a }) =>
      STEP_FUSIONS.map((fusion) => {
        const cells = COLUMNS.map(([, centring, normalisation]) => {
          const folds = protocolStepCell(a, fusion, centring, normalisation, 'other-folds');
          const all = protocolStepCell(a, fusion, centring, normalisation, 'all-pairs');
          const mark = (p: string | null) => (p ? ` **${p}**` : '');
          return `${pct(folds.accuracy)}${mark(folds.protocol)} / ${pct(all.accuracy)}${mark(all.protocol)} · ${folds.auc.toFixed(3)}`;
        });
        return `| ${label} | ${fusion === 'original' ? 'original (no flip)' : fusion} | ${cells.join(' | ')} |`;
      }),
    ),
  ];
  return [
    ...features,
    '',
    'Accuracy (%) with one protocol step changed at a time, on the same folds: threshold from the other 9 folds / best threshold over all pairs · AUC of the scores. ' +
      '"mean": the other folds\' mean of the fused features is subtracted (evaluation.m); "unit mean": the same after L2-normalising every image\'s feature (before fusion); ' +
      '"L2 only": cosine of the uncentred features; "no L2": squared distance of the raw features (no centring changes it). Bold: the named protocol that cell reproduces.',
    '',
    ...grid,
  ].join('\n');
}

/** What mean subtraction does to one model's features, from its analysis (fractions; differences in points). */
export interface MeanSubtractionEffect {
  /** The canonical protocol (concat, mean subtracted, L2, threshold from the other folds). */
  readonly canonical: number;
  /** The same without the mean subtraction. */
  readonly withoutMean: number;
  /** The same with every image's feature L2-normalised before fusion and the mean of those subtracted instead. */
  readonly unitMean: number;
  /** canonical − withoutMean, in percentage points (negative: mean subtraction costs accuracy). */
  readonly meanSubtractionPoints: number;
  /** The same difference with the best threshold over all pairs (so threshold selection is out of it). */
  readonly meanSubtractionPointsBestThreshold: number;
  /** AUC of the canonical scores and of the uncentred cosines. */
  readonly aucCentred: number;
  readonly aucUncentred: number;
}

export function meanSubtractionEffect(a: ProtocolStepAnalysis): MeanSubtractionEffect {
  const get = (centring: StepCentring, threshold: 'other-folds' | 'all-pairs') => protocolStepCell(a, 'concat', centring, 'l2', threshold);
  const canonical = get('mean', 'other-folds');
  const withoutMean = get('none', 'other-folds');
  return {
    canonical: canonical.accuracy,
    withoutMean: withoutMean.accuracy,
    unitMean: get('unit-mean', 'other-folds').accuracy,
    meanSubtractionPoints: 100 * (canonical.accuracy - withoutMean.accuracy),
    meanSubtractionPointsBestThreshold: 100 * (get('mean', 'all-pairs').accuracy - get('none', 'all-pairs').accuracy),
    aucCentred: canonical.auc,
    aucUncentred: withoutMean.auc,
  };
}

/** One line per model: the canonical accuracy next to the same protocol without mean subtraction, and why. */
export function meanSubtractionLine(label: string, a: ProtocolStepAnalysis): string {
  const e = meanSubtractionEffect(a);
  const m = a.mean.concat;
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
  return (
    `${label}: canonical ${pct(e.canonical)} %; without the mean subtraction ${pct(e.withoutMean)} % ` +
    `(mean subtraction ${signed(e.meanSubtractionPoints)} points; ${signed(e.meanSubtractionPointsBestThreshold)} with the best threshold over all pairs; ` +
    `AUC ${e.aucCentred.toFixed(3)} centred vs ${e.aucUncentred.toFixed(3)} uncentred); with unit image features centred instead ${pct(e.unitMean)} %. ` +
    `‖μ‖/spread ${m.ratio.toFixed(2)}, ${(100 * m.varianceShareAlongMean).toFixed(1)} % of the variance along μ, corr(‖x‖, along μ) ${m.normCorrelationAlongMean.toFixed(2)}, ` +
    `‖x‖ cv ${a.norms.original.cv.toFixed(3)}`
  );
}
