import { angularFisherScore, evaluateLfwProtocols } from '@sphereface/eval';
import type { LfwPairsWithData } from '@sphereface/data';
import type { ProtocolName } from './config';
import { gatherRows, type LfwFeatures } from './features';
import type { RunRecord } from './record';

/** Stage 5: the configured LFW protocols (fold accuracies in each pair's own fold) and the canonical ROC figures. */
export function evaluateLfw(
  features: LfwFeatures,
  lfw: LfwPairsWithData,
  protocols: readonly ProtocolName[],
): Pick<RunRecord['metrics'], 'lfw' | 'verification'> {
  const { original, flipped, dim, left, right } = features;
  const report = evaluateLfwProtocols({
    leftOriginal: gatherRows(original, dim, left),
    leftFlipped: gatherRows(flipped, dim, left),
    rightOriginal: gatherRows(original, dim, right),
    rightFlipped: gatherRows(flipped, dim, right),
    same: lfw.pairs.map((p) => p.same),
    fold: lfw.pairs.map((p) => p.fold),
  });
  const metrics: Pick<RunRecord['metrics'], 'lfw' | 'verification'> = { lfw: [] };
  for (const p of report.protocols.filter((q) => protocols.includes(q.name))) {
    metrics.lfw.push({ protocol: p.name, description: p.description, mean: p.accuracy, std: p.std ?? 0, foldAccuracies: p.foldAccuracies ?? [] });
  }
  const canonical = report.protocols.find((p) => p.name === 'canonical');
  if (canonical) {
    metrics.verification = { auc: canonical.metrics.auc, eer: canonical.metrics.eer };
    for (const { far, tar } of canonical.metrics.tarAtFar) metrics.verification[`tar@far=${far}`] = tar;
  }
  return metrics;
}

/** The angular Fisher score of the training features (how compact the classes are on the hypersphere). */
export function trainingFeatureScore(features: Float32Array, dim: number, labels: Int32Array): number {
  return angularFisherScore({ rows: labels.length, cols: dim, data: features }, labels).afs;
}
