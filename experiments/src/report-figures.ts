import { contentHash } from '@sphereface/common';
import { mean, std, studentTQuantile } from '@sphereface/eval';
import type { DepthSeries, ForestPanel, SeedGroup } from '@sphereface/viz';
import { currentVariantSummary, pairedComparisons } from './comparisons';
import type { ExperimentConfig, Profile } from './config';
import { resolveLossOptions } from './config';
import { EXPERIMENTS, getExperiment, resolveConfig } from './definitions';
import type { VariantSummary } from './summary';

/**
 * The data behind the report's result figures, taken from the same runs as its tables (comparisons.ts): plain numbers
 * for @sphereface/viz's figure functions, and the figure list with captions for docs/reproduction.md.
 */

const CONFIDENCE = 0.95;

/** The report's figures, in the order the report shows them: file under docs/figures, alt text, caption. */
export interface ReportFigure {
  file: string;
  alt: string;
  caption?: string;
}

/** Every seed's canonical LFW accuracy (%, the run's fold mean) with the mean over seeds and its 95 % t interval. */
export function seedGroup(label: string, summary: VariantSummary): SeedGroup {
  const seeds = [...summary.canonicalFolds.keys()].sort((a, b) => a - b);
  const values = seeds.map((s) => 100 * mean(summary.canonicalFolds.get(s)!));
  const m = mean(values);
  let interval: [number, number] | null = null;
  if (values.length >= 2) {
    const half = (studentTQuantile((1 + CONFIDENCE) / 2, values.length - 1) * std(values, 'sample')) / Math.sqrt(values.length);
    interval = [m - half, m + half];
  }
  return { label, seeds, values, mean: m, interval };
}

/** One forest panel per experiment with paired comparisons (treatment − control) at `profile`; experiments without pairs are left out. */
export function forestPanels(summaries: VariantSummary[], profile: string): ForestPanel[] {
  return EXPERIMENTS.flatMap((e) =>
    pairedComparisons(e.name, summaries)
      .filter((c) => c.profile === profile && c.rows.length > 0)
      .map((c) => ({
        title: `${e.title.split(':')[0]} — paired differences`,
        rows: c.rows.map(({ variant, control, comparison }) => ({
          label: `${variant} − ${control}`,
          seeds: comparison.seeds.length,
          perSeed: comparison.perSeed ? { mean: comparison.perSeed.mean, interval: comparison.perSeed.interval, n: comparison.perSeed.n } : null,
          perFold: { mean: comparison.perFold.mean, interval: comparison.perFold.interval, n: comparison.perFold.n },
        })),
      })),
  );
}

const lossLabel = (loss: ExperimentConfig['loss']) => (loss.name === 'a-softmax' ? `A-Softmax m = ${loss.options.m}` : loss.name);

/** Table 3's variants in order (softmax, then m = 1…4), each with its current runs at `profile`; variants without runs are left out. */
export function marginGroups(summaries: VariantSummary[], profile: string): SeedGroup[] {
  return getExperiment('table3').variants.flatMap((v) => {
    const s = currentVariantSummary(summaries, 'table3', v.name, profile);
    return s ? [seedGroup(v.name === 'softmax' ? 'softmax' : lossLabel(s.record.identity.config.loss).replace('A-Softmax ', ''), s)] : [];
  });
}

/** Depth and which runs a depth point comes from. */
export interface DepthFigureData {
  depths: number[];
  series: DepthSeries[];
  /** Per series, the depths without runs at this profile. */
  missing: Array<{ series: string; depths: number[] }>;
  /** Points taken from another experiment's runs with the same settings, e.g. 'softmax at SphereFace-4: table3/softmax'. */
  borrowed: string[];
}

const depthOf = (model: string) => Number(/(\d+)$/.exec(model)?.[1] ?? Number.NaN);
/** A config with what names a run (experiment, variant, seed) removed: two runs with equal settings have equal keys. */
const settingsKey = (c: ExperimentConfig) => contentHash({ ...c, experiment: null, variant: null, seed: null });

/**
 * Accuracy against depth for A-Softmax (the depth study's loss) and softmax. For each depth of the depth study and
 * each loss, the current runs (at `profile`) whose settings equal the depth study's at that depth with that loss:
 * the depth study's own runs when it has them, else another experiment's (most seeds, then the experiments'
 * order), e.g. SphereFace-4 softmax from table3. Depths with no such runs are listed in `missing`, never filled in.
 */
export function depthFigureData(summaries: VariantSummary[], profile: string): DepthFigureData {
  const depth = getExperiment('depth');
  const models = [...new Set(depth.variants.map((v) => resolveConfig('depth', v.name, profile as Profile, 0).model.name))];
  const depths = models.map(depthOf).sort((a, b) => a - b);
  const studyLoss = resolveConfig('depth', depth.defaultVariant, profile as Profile, 0).loss;
  const softmax = { name: 'softmax', options: resolveLossOptions({ name: 'softmax', options: {} }) };
  const current = summaries.filter((s) => s.profile === profile && currentVariantSummary(summaries, s.experiment, s.variant, profile) === s);
  const order = (s: VariantSummary) => EXPERIMENTS.findIndex((e) => e.name === s.experiment);
  const series: DepthSeries[] = [];
  const missing: DepthFigureData['missing'] = [];
  const borrowed: string[] = [];
  for (const loss of [studyLoss, softmax]) {
    const name = lossLabel(loss);
    const points: DepthSeries['points'] = [];
    const from: string[] = [];
    for (const model of models) {
      const variant = depth.variants.find((v) => resolveConfig('depth', v.name, profile as Profile, 0).model.name === model)!;
      const target = settingsKey({ ...resolveConfig('depth', variant.name, profile as Profile, 0), loss });
      const found = current.filter((s) => settingsKey(s.record.identity.config) === target);
      const chosen = found.find((s) => s.experiment === 'depth') ?? found.sort((a, b) => b.seeds.length - a.seeds.length || order(a) - order(b))[0];
      if (!chosen) continue;
      if (chosen.experiment !== 'depth') {
        borrowed.push(`${name} at SphereFace-${depthOf(model)}: the ${chosen.experiment}/${chosen.variant} runs`);
        from.push(`SphereFace-${depthOf(model)}: the ${chosen.experiment}/${chosen.variant} runs`);
      }
      const { seeds, values, mean: m, interval } = seedGroup(model, chosen);
      points.push({ depth: depthOf(model), seeds, values, mean: m, interval });
    }
    const absent = depths.filter((d) => !points.some((p) => p.depth === d));
    if (absent.length) missing.push({ series: name, depths: absent });
    series.push({ name, points, ...(from.length ? { note: from.join('; ') } : {}) });
  }
  return { depths, series, missing, borrowed };
}

const sphereface = (ds: number[]) => ds.map((d) => `SphereFace-${d}`).join(', ');

/** The report's figures with their captions, from the runs at `profile` (the captions state what is not recorded). */
export function reportFigures(summaries: VariantSummary[], profile = 'cpu'): ReportFigure[] {
  const depth = depthFigureData(summaries, profile);
  const depthNote = [
    depth.borrowed.length ? `${depth.borrowed.join('; ')} (same settings as the depth study apart from the loss)` : '',
    ...depth.missing.map((m) => `${m.series} at ${sphereface(m.depths)}: not recorded yet, so not drawn`),
  ].filter(Boolean);
  return [
    {
      file: 'paired-differences.png',
      alt: `Paired differences in LFW accuracy against each experiment's baseline (${profile} profile)`,
      caption: `Paired differences on the canonical protocol (${profile} profile), in percentage points of LFW accuracy, from the runs in the paired tables above: dark, the per-seed mean difference with its 95 % Student-t interval over training seeds; light, the per-(seed, LFW fold) mean with its interval over seed × fold pairs (the folds treated as independent: it shows the spread over LFW's test folds for these trained models, not over training runs). Each panel has its own scale; the dashed line is no difference.`,
    },
    {
      file: 'table3-accuracy-by-m.png',
      alt: `LFW accuracy against the margin m, every seed (table3, ${profile} profile)`,
      caption: `Table 3's runs (${profile} profile): every seed's canonical LFW accuracy (one colour per seed; dotted lines join a seed's runs) and the mean over seeds with its 95 % Student-t interval. The axis is zoomed to the runs.`,
    },
    {
      file: 'depth-accuracy.png',
      alt: `LFW accuracy against depth for A-Softmax and softmax (${profile} profile)`,
      caption: `Canonical LFW accuracy against depth (${profile} profile): every seed (open circles) and the mean over seeds with its 95 % Student-t interval.${depthNote.length ? ` ${depthNote.join('. ')}.` : ''}`,
    },
    { file: 'table3-protocols.png', alt: `LFW accuracy of the table3 ${profile} runs under each protocol (axis zoomed to the runs)` },
    { file: 'table3-training.png', alt: `Training curves of the table3 ${profile} runs` },
    { file: 'psi.png', alt: 'ψ(θ) for m = 1…4' },
    { file: 'decision-regions.png', alt: 'Decision regions of softmax, modified softmax and A-Softmax (Table 1)' },
    { file: 'margin-threshold.png', alt: 'The smallest margin m*(θ12), measured from the decision rule' },
  ];
}

/** The report's '### Figures' section. */
export function figuresMarkdown(summaries: VariantSummary[], profile = 'cpu'): string {
  return [
    '### Figures',
    '',
    `Rendered by \`npm run docs\` with Debian’s chromium from the library functions and the ${profile} records above (the runs made with the profile’s current settings, as in the paired tables).`,
    '',
    reportFigures(summaries, profile)
      .map((f) => [`![${f.alt}](figures/${f.file})`, ...(f.caption ? [`*${f.caption}*`] : [])].join('\n\n'))
      .join('\n\n'),
  ].join('\n');
}
