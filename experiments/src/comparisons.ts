import { contentHash } from '@sphereface/common';
import { compareSeedFoldAccuracies, pageTrendOverSeeds, type PageTrendOverSeedsResult, type SeedComparison } from '@sphereface/eval';
import type { ExperimentConfig, Profile } from './config';
import { getExperiment, resolveConfig } from './definitions';
import type { VariantSummary } from './summary';

/**
 * Which runs the report compares, shared by its tables (summary.ts) and its figures (report-figures.ts), so that
 * both always show the same runs: per profile, each variant's runs made with the profile's current settings, paired
 * against the experiment's baseline by seed and LFW fold.
 */

/** Runs pool over seeds only when everything else in their config is equal (override runs stay apart). */
export const poolKey = (config: ExperimentConfig): string => contentHash({ ...config, seed: null });

/**
 * The summary of a variant's runs made with the profile's current settings (not older definitions of the variant,
 * not --set studies) that have canonical fold accuracies; undefined when there are none.
 */
export function currentVariantSummary(summaries: VariantSummary[], experiment: string, variant: string, profile: string): VariantSummary | undefined {
  const current = poolKey(resolveConfig(experiment, variant, profile as Profile, 0));
  return summaries.find(
    (s) => s.experiment === experiment && s.profile === profile && s.variant === variant && poolKey(s.record.identity.config) === current && s.canonicalFolds.size > 0,
  );
}

/**
 * What the report compares, per experiment: `pairs` (treatment − control, paired by seed and LFW fold) and `trends`
 * (variants in their hypothesised increasing order, for Page's test on the per-seed means). Kept here, not in the
 * experiment definitions, because it is how results are read, not what a run executes (definitions.ts is part of
 * every run's code identity).
 */
export const COMPARISONS: Readonly<Record<string, { pairs: ReadonlyArray<readonly [string, string]>; trends: ReadonlyArray<readonly string[]> }>> = {
  table3: {
    pairs: [1, 2, 3, 4].map((m) => [`a-softmax-m${m}`, 'softmax'] as const),
    trends: [['a-softmax-m1', 'a-softmax-m2', 'a-softmax-m3', 'a-softmax-m4']],
  },
  losses: { pairs: ['softmax', 'normface', 'cosface', 'arcface'].map((v) => [v, 'a-softmax'] as const), trends: [] },
  depth: {
    pairs: [
      ...[4, 10, 20].map((d) => [`sphereface${d}`, `sphereface${d}-softmax`] as const),
      ...[10, 20].map((d) => [`sphereface${d}`, 'sphereface4'] as const),
      ...[10, 20].map((d) => [`sphereface${d}-softmax`, 'sphereface4-softmax'] as const),
    ],
    trends: [
      ['sphereface4', 'sphereface10', 'sphereface20'],
      ['sphereface4-softmax', 'sphereface10-softmax', 'sphereface20-softmax'],
    ],
  },
};

/** One treatment against its control, on the canonical protocol (differences in percentage points). */
export interface VariantComparison {
  variant: string;
  control: string;
  comparison: SeedComparison<number>;
}

/** An experiment's paired comparisons at one profile. */
export interface ProfileComparisons {
  experiment: string;
  profile: string;
  /** The pairs with current runs and a shared seed, in COMPARISONS order. */
  rows: VariantComparison[];
  /** Page's trend tests over each hypothesised order whose variants all have current runs. */
  trends: Array<{ variants: string[]; result: PageTrendOverSeedsResult<number> }>;
}

/**
 * Paired comparisons of an experiment's variants (COMPARISONS), per profile (sorted), from the current runs of each:
 * per seed and per (seed, LFW fold) with compareSeedFoldAccuracies, and Page's trend tests. Profiles with nothing to
 * compare are left out; empty when the experiment has no comparisons.
 */
export function pairedComparisons(experiment: string, summaries: VariantSummary[]): ProfileComparisons[] {
  const comparison = COMPARISONS[experiment];
  if (!comparison) return [];
  const known = new Set(getExperiment(experiment).variants.map((v) => v.name));
  for (const name of [...comparison.pairs.flat(), ...comparison.trends.flat()]) {
    if (!known.has(name)) throw new Error(`COMPARISONS.${experiment} names '${name}', which is not a variant of ${experiment}`);
  }
  const out: ProfileComparisons[] = [];
  const profiles = [...new Set(summaries.filter((s) => s.experiment === experiment).map((s) => s.profile))].sort();
  for (const profile of profiles) {
    const of = (variant: string) => currentVariantSummary(summaries, experiment, variant, profile);
    const rows: VariantComparison[] = [];
    for (const [variant, control] of comparison.pairs) {
      const treated = of(variant);
      const baseline = of(control);
      if (!treated || !baseline) continue;
      try {
        rows.push({ variant, control, comparison: compareSeedFoldAccuracies(treated.canonicalFolds, baseline.canonicalFolds) });
      } catch {
        continue; // no shared seed
      }
    }
    const trends = comparison.trends.flatMap((order) => {
      const runs = order.map(of);
      return runs.every((s): s is VariantSummary => s !== undefined) ? [{ variants: [...order], result: pageTrendOverSeeds(runs.map((s) => s.canonicalFolds)) }] : [];
    });
    if (rows.length || trends.length) out.push({ experiment, profile, rows, trends });
  }
  return out;
}
