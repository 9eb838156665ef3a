import { contentHash } from '@sphereface/common';
import { compareSeedFoldAccuracies } from '@sphereface/eval';
import { identityConfig } from './config';
import { resolveConfig } from './definitions';
import type { RunRecord } from './record';
import { interval, share, signed } from './format';

/**
 * The controlled runs on the full-width gap (issue #15): the cpu-full recipe with the authors' Caffe choices, and
 * each of four choices an independent PyTorch implementation made differently, changed one at a time, then all four.
 */
export interface GapFactor {
  name: string;
  /** What differs from the Caffe baseline. */
  change: string;
  overrides: string[];
}

export const GAP_FACTORS: readonly GapFactor[] = [
  { name: 'baseline', change: "Caffe: fan-in Xavier, bias lr_mult 2 / decay_mult 0, Caffe momentum, jpeg-js", overrides: [] },
  { name: 'init', change: "Glorot fan-average Xavier (PyTorch's xavier_uniform_)", overrides: ['model.xavier=fan-avg'] },
  { name: 'bias', change: 'bias learning rate ×1 and weight decay 5e-4, as the weights', overrides: ['trainer.biasLrMult=1', 'trainer.biasDecayMult=1'] },
  { name: 'momentum', change: "PyTorch momentum: the velocity moves at the new learning rate at once after a step", overrides: ['trainer.momentumStyle=pytorch'] },
  { name: 'decoder', change: 'libjpeg-turbo instead of jpeg-js', overrides: ['data.jpegDecoder=libjpeg-turbo'] },
  {
    name: 'all four',
    change: 'the four changes together (the other implementation’s choices)',
    overrides: ['model.xavier=fan-avg', 'trainer.biasLrMult=1', 'trainer.biasDecayMult=1', 'trainer.momentumStyle=pytorch', 'data.jpegDecoder=libjpeg-turbo'],
  },
  // Not one of the four: the cpu-full recipe clips the gradient norm at 5; does the clip cap accuracy?
  { name: 'no clip', change: 'no gradient-norm clipping (the recipe clips at 5)', overrides: ['trainer.clipGradNorm=null'] },
];

const canonical = (r: RunRecord) => r.metrics.lfw.find((p) => p.protocol === 'canonical');

/** Seed → canonical fold accuracies of finished runs. */
function foldsBySeed(records: readonly RunRecord[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of records) {
    const folds = canonical(r)?.foldAccuracies;
    if (!r.failure && folds?.length) out.set(r.identity.config.seed, folds);
  }
  return out;
}

const pct = (v: number) => (100 * v).toFixed(2);

/**
 * A markdown table of one head's gap study: per factor, the canonical LFW accuracy of each seed and the final training
 * loss, and the paired difference against the baseline per seed (interval over seeds) and per (seed, fold).
 */
export function gapStudyMarkdown(head: string, runs: ReadonlyMap<string, readonly RunRecord[]>): string {
  const baseline = foldsBySeed(runs.get('baseline') ?? []);
  const rows = GAP_FACTORS.filter((f) => runs.get(f.name)?.length).map((f) => {
    const records = [...runs.get(f.name)!].sort((a, b) => a.identity.config.seed - b.identity.config.seed);
    const perSeed = records
      .map((r) => `${r.identity.config.seed}: ${r.failure ? `stopped at iteration ${r.failure.iteration} (${r.failure.kind})` : pct(canonical(r)!.mean)}`)
      .join(', ');
    const loss = records.map((r) => (r.failure ? '—' : r.metrics.train.loss.toFixed(3))).join(', ');
    let paired: string;
    if (f.name !== 'baseline' && baseline.size > 0 && foldsBySeed(records).size > 0) {
      const c = compareSeedFoldAccuracies(foldsBySeed(records), baseline);
      const seeds = c.perSeed ? `${interval(c.perSeed)} (${c.perSeed.n} seeds)` : `${signed(c.perFold.mean)} (1 seed)`;
      paired = `${seeds} | ${interval(c.perFold)} (${c.perFold.n}); ${share(c.perFold.shareImproved)} better`;
    } else paired = '— | —';
    return `| ${f.name} | ${f.change} | ${perSeed} | ${loss} | ${paired} |`;
  });
  return [
    `${head}: canonical LFW accuracy (%) per seed, final training loss, and the paired difference against the baseline in percentage points with 95 % Student-t intervals (per seed: over seeds; per fold: over (seed, LFW fold) pairs, which reflects LFW's test folds, not training runs).`,
    '',
    '| runs | change from the Caffe baseline | canonical % by seed | train loss | − baseline, per seed | − baseline, per fold |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * The recorded runs of each gap factor for one table3 variant at a profile (default cpu-full): records whose config is
 * the factor's (the profile with its overrides), the newest per seed; a run a health check stopped is one of them.
 */
export function gapStudyRuns(records: readonly RunRecord[], variant: string, profile: 'cpu-full' | 'smoke' | 'cpu' = 'cpu-full'): Map<string, RunRecord[]> {
  const out = new Map<string, RunRecord[]>();
  for (const f of GAP_FACTORS) {
    const bySeed = new Map<number, RunRecord>();
    for (const r of [...records].sort((a, b) => a.endedAt.localeCompare(b.endedAt))) {
      const c = r.identity.config;
      if (c.experiment !== 'table3' || c.variant !== variant || c.profile !== profile) continue;
      if (contentHash(r.identity.config) === contentHash(identityConfig(resolveConfig('table3', variant, profile, c.seed, f.overrides)))) bySeed.set(c.seed, r);
    }
    if (bySeed.size) out.set(f.name, [...bySeed.values()].sort((a, b) => a.identity.config.seed - b.identity.config.seed));
  }
  return out;
}

/** The report's section on the gap study: both heads' tables, when cpu-full runs of it are recorded. */
export function gapStudySection(records: readonly RunRecord[]): string {
  const softmax = gapStudyRuns(records, 'softmax');
  const aSoftmax = gapStudyRuns(records, 'a-softmax-m4');
  if (softmax.size + aSoftmax.size === 0) return '';
  return [
    '## The full-width gap (cpu-full profile)',
    '',
    'SphereFace-4 at full width (`cpu-full`: 1,820 iterations of 64, 56×48) with the authors’ Caffe choices, and with each of four choices that an independent PyTorch implementation made differently, changed one at a time (`notebooks/full-width-gap.ipynb` has the discussion).',
    '',
    ...(softmax.size ? [gapStudyMarkdown('Softmax', softmax), ''] : []),
    ...(aSoftmax.size ? [gapStudyMarkdown('A-Softmax (m = 4)', aSoftmax)] : []),
  ].join('\n');
}
