import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { contentHash, writeFileAtomic } from '@sphereface/common';
import { getExperiment, resolveConfig } from './definitions';
import { listRecords, type RunRecord } from './record';
import { reproductionReport } from './summary';
import { recordCodeStatus } from './code-identity';

export function reproductionReportPath(root: string): string {
  return join(root, 'docs', 'reproduction.md');
}

/** The static figures of the report: rendered by `sphereface report` (Debian chromium), linked from the report. */
export const REPORT_FIGURES = ['psi.png', 'decision-regions.png', 'margin-threshold.png', 'table3-training.png', 'table3-protocols.png'] as const;

/** Renders docs/figures/*.png from the library functions and the committed cpu-profile table3 records. */
export async function writeReportFigures(root: string): Promise<string[]> {
  const viz = await import('@sphereface/viz');
  // Finished runs made with the current table3 cpu settings (not older definitions, --set studies or failed runs), in
  // the experiment's variant order, then by seed, so that a variant's runs sit side by side.
  const order = getExperiment('table3').variants.map((v) => v.name);
  const current = (r: RunRecord) =>
    contentHash(r.identity.config) === contentHash(resolveConfig('table3', r.identity.config.variant, 'cpu', r.identity.config.seed));
  const table3 = listRecords(root)
    .filter((r) => r.identity.config.experiment === 'table3' && r.identity.config.profile === 'cpu' && !r.overrides?.length && !r.failure && current(r))
    .sort((a, b) => order.indexOf(a.identity.config.variant) - order.indexOf(b.identity.config.variant) || a.identity.config.seed - b.identity.config.seed);
  const figures = [
    viz.psiFigure(),
    viz.decisionRegionsFigure(),
    viz.marginThresholdFigure(),
    viz.trainingCurvesFigure(table3),
    viz.protocolsFigure(table3, { lfw: 99.42, label: 'paper, SphereFace-64 on CASIA-WebFace: 99.42 %' }),
  ];
  const pngs = await viz.renderPngs(figures, { width: 1000, height: 600, scale: 1 });
  const dir = join(root, 'docs', 'figures');
  mkdirSync(dir, { recursive: true });
  return REPORT_FIGURES.map((name, i) => {
    writeFileAtomic(join(dir, name), pngs[i]);
    return join(dir, name);
  });
}

/** Regenerates docs/reproduction.md from the committed records; with `check`, only compares. */
export function writeReproductionReport(root: string, options: { check?: boolean } = {}): { path: string; upToDate: boolean } {
  const path = reproductionReportPath(root);
  const text = `${reproductionReport(listRecords(root), undefined, (r) => recordCodeStatus(r, root))}\n`;
  const upToDate = existsSync(path) && readFileSync(path, 'utf8') === text;
  if (!options.check && !upToDate) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, text);
  }
  return { path, upToDate };
}
