import { pairImages } from '@sphereface/data';
import type { FlipPairFeatures } from '@sphereface/eval';
import { analyseProtocolSteps, type ProtocolStepAnalysis } from '@sphereface/eval/analysis';

export { meanSubtractionLine, protocolStepsMarkdown, type LabelledAnalysis } from '@sphereface/eval/analysis';
import { readArtifact } from './artifacts';
import { repositoryRoot } from './paths';
import type { RunRecord } from './record';
import { dataViews } from './views';

// For the notebooks and the report: a recorded run's LFW features, read back from its lfw-features.f32 artifact, and
// the protocol-step analysis of @sphereface/eval/analysis on them. The runner does not import this module.

/**
 * The flip-pair features of a run, as its evaluation stage passed them to evaluateLfwProtocols: the artifact holds
 * [original rows…, flipped rows…] over pairImages(lfw) of the run's LFW view, and each pair takes the rows of its
 * two images, with its fold from the pairs file.
 */
export function runFlipPairFeatures(record: RunRecord, root = repositoryRoot()): FlipPairFeatures & { same: boolean[]; fold: number[] } {
  const { lfw } = dataViews(record.identity.config);
  if (!lfw) throw new Error(`run ${record.runId} evaluates no LFW protocol, so it has no LFW features`);
  const images = pairImages(lfw);
  const bytes = readArtifact(record, 'lfw-features.f32', root);
  const features = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const dim = features.length / (2 * images.length);
  if (!Number.isInteger(dim) || dim < 1) {
    throw new Error(`run ${record.runId}: lfw-features.f32 has ${features.length} values, not 2 × ${images.length} images × a dimension`);
  }
  const row = new Map(images.map((it, i) => [it.rel, i]));
  const rows = (offset: number, side: 'a' | 'b') =>
    lfw.pairs.map((p) => {
      const r = offset + row.get(p[side])!;
      return features.subarray(r * dim, (r + 1) * dim);
    });
  return {
    leftOriginal: rows(0, 'a'),
    leftFlipped: rows(images.length, 'a'),
    rightOriginal: rows(0, 'b'),
    rightFlipped: rows(images.length, 'b'),
    same: lfw.pairs.map((p) => p.same),
    fold: lfw.pairs.map((p) => p.fold),
  };
}

export interface RunProtocolSteps {
  readonly runId: string;
  readonly analysis: ProtocolStepAnalysis;
  /** The run's recorded canonical accuracy, and whether the analysis' canonical cell is exactly it. */
  readonly recordedCanonical: number | null;
  readonly reproducesRecord: boolean;
}

/** The protocol-step analysis of a recorded run's LFW features (see analyseProtocolSteps). */
export function runProtocolSteps(record: RunRecord, root = repositoryRoot()): RunProtocolSteps {
  const analysis = analyseProtocolSteps(runFlipPairFeatures(record, root));
  const recorded = record.metrics.lfw.find((p) => p.protocol === 'canonical');
  const canonical = analysis.cells.find((c) => c.protocol === 'canonical')!;
  return {
    runId: record.runId,
    analysis,
    recordedCanonical: recorded?.mean ?? null,
    reproducesRecord: recorded !== undefined && JSON.stringify(recorded.foldAccuracies) === JSON.stringify(canonical.foldAccuracies),
  };
}
