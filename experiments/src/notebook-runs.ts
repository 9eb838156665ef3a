import { contentHash } from '@sphereface/common';
import { getExperiment, resolveConfig } from './definitions';
import { identityConfig, type Profile } from './config';
import { listRecords, type RunRecord } from './record';
import { runExperiment } from './runner';
import { repositoryRoot } from './paths';
import { describeCodeStatus, recordCodeStatus } from './code-identity';

export interface EnsureRunsOptions {
  profile: Profile;
  seeds?: number[];
  /** Default: every variant of the experiment. */
  variants?: string[];
  /** `path=value` changes to each run's config (as `sphereface run --set`); default none. */
  overrides?: string[];
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
      // Only finished records made with the profile's current settings (and these overrides) count, not older
      // definitions; a failed run is replayed by runExperiment, which throws its diagnosis.
      const overrides = options.overrides ?? [];
      const wanted = contentHash(identityConfig(resolveConfig(experiment, variant, options.profile, seed, overrides)));
      const newest = listRecords(root)
        .filter((r) => !r.failure && contentHash(r.identity.config) === wanted)
        .sort((a, b) => b.endedAt.localeCompare(a.endedAt))[0];
      const record = newest ?? (options.run === false ? undefined : await runExperiment({ root, experiment, variant, profile: options.profile, seed, overrides, log }));
      const sets = overrides.map((o) => ` --set ${o}`).join('');
      if (!record) throw new Error(`no ${options.profile} record of ${experiment}/${variant} seed ${seed}${sets ? ` with${sets}` : ''}; run: sphereface run ${experiment} --variant ${variant} --profile ${options.profile} --seed ${seed}${sets}`);
      console.log(`run:${record.runId} ${experiment}/${variant} seed ${seed}${newest ? ` (recorded; ${describeCodeStatus(recordCodeStatus(record, root))})` : ''}`);
      out.push(record);
    }
  }
  return out;
}
