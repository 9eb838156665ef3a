import { resolveConfig } from '../definitions';
import { RECORD_SCHEMA, runIdOf, type RunIdentity, type RunRecord } from '../record';

/** A well-formed record built from a real resolved config, with the given metric values. */
export function fakeRecord(overrides: { variant?: string; seed?: number; mean?: number; backend?: string } = {}): RunRecord {
  const config = resolveConfig('table3', overrides.variant ?? 'a-softmax-m4', 'smoke', overrides.seed ?? 0);
  const identity: RunIdentity = {
    config,
    code: { treeHash: 'a'.repeat(40), diffHash: null },
    data: { train: 'b'.repeat(64), lfw: 'c'.repeat(64) },
    backend: overrides.backend ?? 'wasm',
  };
  const mean = overrides.mean ?? 0.75;
  return {
    schema: RECORD_SCHEMA,
    runId: runIdOf(identity),
    identity,
    code: { treeHash: 'a'.repeat(40), commit: 'd'.repeat(40), dirty: false, diffHash: null },
    backend: { name: identity.backend },
    environment: { node: 'v20.20.2', platform: 'linux-x64', cpu: { model: 'test cpu', cores: 2 }, memoryGiB: 24, tfjs: '4.22.0' },
    startedAt: '2026-11-27T10:00:00.000Z',
    endedAt: '2026-11-27T10:05:00.000Z',
    seconds: 300,
    history: [{ iteration: 1, loss: 2.5 }],
    metrics: {
      train: { loss: 1.2, accuracy: 0.6 },
      lfw: [
        { protocol: 'canonical', description: 'canonical', mean, std: 0.01, foldAccuracies: new Array(10).fill(mean) },
        { protocol: 'no-flip', description: 'original face only', mean: mean - 0.01, std: 0.02, foldAccuracies: new Array(10).fill(mean - 0.01) },
      ],
    },
    paper: { lfw: 99.42, source: 'paper Table 3' },
    artifacts: [],
  };
}
