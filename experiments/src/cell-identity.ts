import { listModels, selectBackend } from '@sphereface/models';
import { codeIdentity, type CodeIdentity } from './code-identity';
import { identityConfig, validateConfig, type ExperimentConfig, type Profile } from './config';
import { resolveConfig } from './definitions';
import { runIdOf, type RunIdentity } from './record';
import { dataViewHashes, dataViews } from './views';

/**
 * The run ID of a cell without training it, computed as runExperiment computes it (runner.ts, step [1/5]): the
 * validated config, the data views' hashes, the code identity on the backend, hashed by runIdOf. It only calls the
 * functions the runner calls, so the two cannot drift apart without a change to those functions (which the tests of
 * sweep.ts compare against records the runner wrote). It lives outside the runner's module graph on purpose: a file
 * in that graph is part of every run ID.
 */
export interface CellSpec {
  experiment: string;
  variant: string;
  profile: Profile;
  seed: number;
  overrides: string[];
}

export interface IdentifiedCell extends CellSpec {
  runId: string;
  config: ExperimentConfig;
}

export class CellIdentifier {
  private readonly views = new Map<string, Record<string, string>>();
  private readonly codes = new Map<string, CodeIdentity>();

  private constructor(
    readonly root: string,
    /** tf.getBackend() of the backend this machine selects (part of the run ID). */
    readonly backend: string,
  ) {}

  /** Selects the backend as `sphereface run` does (SPHEREFACE_BACKEND, else the first that works). */
  static async create(root: string, log: ((line: string) => void) | null = null): Promise<CellIdentifier> {
    const backend = await selectBackend({ log });
    return new CellIdentifier(root, backend.tfBackend);
  }

  identify(cell: CellSpec): IdentifiedCell {
    const config = validateConfig(resolveConfig(cell.experiment, cell.variant, cell.profile, cell.seed, cell.overrides), listModels());
    // The views depend on the data section and on whether LFW is evaluated (views.ts); loading them checks manifests.
    const viewKey = JSON.stringify([config.data, config.evaluation.protocols.length > 0]);
    let data = this.views.get(viewKey);
    if (!data) {
      data = dataViewHashes(dataViews(config));
      this.views.set(viewKey, data);
    }
    let code = this.codes.get(this.backend);
    if (!code) {
      code = codeIdentity(this.root, this.backend);
      this.codes.set(this.backend, code);
    }
    const identity: RunIdentity = { config: identityConfig(config), code: { hash: code.hash }, data, backend: this.backend };
    return { ...cell, runId: runIdOf(identity), config };
  }
}
