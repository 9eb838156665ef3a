import { contentHash } from '@sphereface/common';
import { getExperiment, resolveConfig } from './definitions';
import type { Profile } from './config';
import { listRecords, type RunRecord } from './record';
import { runExperiment } from './runner';
import { repositoryRoot } from './paths';
import { describeCodeStatus, recordCodeStatus } from './code-identity';

export interface EnsureRunsOptions {
  profile: Profile;
  seeds?: number[];
  /** Default: every variant of the experiment. */
  variants?: string[];
  /** Run what is not recorded yet (default true); false only reads records. */
  run?: boolean;
  log?: (line: string) => void;
}

/**
 * The records a notebook shows: recorded runs are replayed, missing ones are run (when allowed). Prints a
 * `run:<id>` marker per record, which the notebook executor uses to link the executed notebook to its runs.
 */
export async function ensureRuns(experiment: string, options: EnsureRunsOptions): Promise<RunRecord[]> {
  const root = repositoryRoot();
  const definition = getExperiment(experiment);
  const variants = options.variants ?? definition.variants.map((v) => v.name);
  const seeds = options.seeds ?? [0];
  const log = options.log ?? (() => undefined);
  const out: RunRecord[] = [];
  for (const variant of variants) {
    for (const seed of seeds) {
      // Only finished records made with the profile's current settings count (not older definitions, not --set
      // studies); a failed run is replayed by runExperiment, which throws its diagnosis.
      const wanted = contentHash(resolveConfig(experiment, variant, options.profile, seed));
      const newest = listRecords(root)
        .filter((r) => !r.overrides?.length && !r.failure && contentHash(r.identity.config) === wanted)
        .sort((a, b) => b.endedAt.localeCompare(a.endedAt))[0];
      const record = newest ?? (options.run === false ? undefined : await runExperiment({ root, experiment, variant, profile: options.profile, seed, log }));
      if (!record) throw new Error(`no ${options.profile} record of ${experiment}/${variant} seed ${seed}; run: sphereface run ${experiment} --variant ${variant} --profile ${options.profile} --seed ${seed}`);
      console.log(`run:${record.runId} ${experiment}/${variant} seed ${seed}${newest ? ` (recorded; ${describeCodeStatus(recordCodeStatus(record, root))})` : ''}`);
      out.push(record);
    }
  }
  return out;
}
