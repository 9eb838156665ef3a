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

/** One variant against the experiment's baseline, on the canonical protocol (differences in percentage points). */
export interface VariantComparison {
  variant: string;
  comparison: SeedComparison<number>;
}

/** An experiment's paired comparisons at one profile. */
export interface ProfileComparisons {
  experiment: string;
  profile: string;
  baseline: string;
  /** Variants in the experiment's order; those without current runs or without a seed shared with the baseline are absent. */
  rows: VariantComparison[];
  /** Page's trend test over the experiment's hypothesised order; null when a variant in it has no current runs. */
  trend: { variants: string[]; result: PageTrendOverSeedsResult<number> } | null;
}

/**
 * Paired comparisons of an experiment's variants against its baseline, per profile (sorted), from the current runs
 * of each: per seed and per (seed, LFW fold) with compareSeedFoldAccuracies, and Page's trend test. A profile whose
 * baseline has no current runs is left out; empty when the experiment defines no comparison.
 */
export function pairedComparisons(experiment: string, summaries: VariantSummary[]): ProfileComparisons[] {
  const definition = getExperiment(experiment);
  const comparison = definition.comparison;
  if (!comparison) return [];
  const out: ProfileComparisons[] = [];
  const profiles = [...new Set(summaries.filter((s) => s.experiment === experiment).map((s) => s.profile))].sort();
  for (const profile of profiles) {
    const of = (variant: string) => currentVariantSummary(summaries, experiment, variant, profile);
    const baseline = of(comparison.baseline);
    if (!baseline) continue;
    const rows: VariantComparison[] = [];
    for (const variant of definition.variants.filter((v) => v.name !== comparison.baseline)) {
      const treated = of(variant.name);
      if (!treated) continue;
      try {
        rows.push({ variant: variant.name, comparison: compareSeedFoldAccuracies(treated.canonicalFolds, baseline.canonicalFolds) });
      } catch {
        continue; // no shared seed
      }
    }
    const trendRuns = comparison.trend?.map(of);
    const trend =
      comparison.trend && trendRuns && trendRuns.every((s): s is VariantSummary => s !== undefined)
        ? { variants: comparison.trend, result: pageTrendOverSeeds(trendRuns.map((s) => s.canonicalFolds)) }
        : null;
    out.push({ experiment, profile, baseline: comparison.baseline, rows, trend });
  }
  return out;
}
