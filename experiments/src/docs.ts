import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@sphereface/common';
import { getExperiment } from './definitions';
import { currentVariantSummary } from './comparisons';
import { listRecords, type RunRecord } from './record';
import { reproductionReport, summarise, type VariantSummary } from './summary';
import { depthFigureData, forestPanels, marginGroups } from './report-figures';
import type { Figure, RenderOptions } from '@sphereface/viz';
import { recordCodeStatus } from './code-identity';

export function reproductionReportPath(root: string): string {
  return join(root, 'docs', 'reproduction.md');
}

/** The report's figures (docs/figures), in the order the report shows them: rendered by `sphereface report` (Debian chromium). */
export const REPORT_FIGURES = [
  'paired-differences.png',
  'table3-accuracy-by-m.png',
  'depth-accuracy.png',
  'table3-protocols.png',
  'table3-training.png',
  'psi.png',
  'decision-regions.png',
  'margin-threshold.png',
] as const;

/** The cpu-profile runs the result figures draw: finished, without `--set` overrides, pooled over seeds as in the report. */
function cpuSummaries(records: RunRecord[]): VariantSummary[] {
  return summarise(records.filter((r) => r.identity.config.profile === 'cpu' && !r.overrides?.length && !r.failure));
}

/**
 * Renders docs/figures/*.png from the library functions and the cpu-profile records in experiments/records: the paired differences,
 * accuracy against m and against depth from the same runs as the report's paired tables (comparisons.ts), the table3
 * training curves and protocols.
 */
export async function writeReportFigures(root: string): Promise<string[]> {
  const viz = await import('@sphereface/viz');
  const records = listRecords(root);
  const summaries = cpuSummaries(records);
  // The table3 runs of the paired tables (current cpu settings, the newest run per seed), in the experiment's variant
  // order, then by seed, so that a variant's runs sit side by side.
  const byId = new Map(records.map((r) => [r.runId, r]));
  const table3 = getExperiment('table3').variants.flatMap((v) => (currentVariantSummary(summaries, 'table3', v.name, 'cpu')?.runIds ?? []).map((id) => byId.get(id)!));
  const panels = forestPanels(summaries, 'cpu');
  const margins = marginGroups(summaries, 'cpu');
  const depth = depthFigureData(summaries, 'cpu');
  if (panels.length === 0 || margins.length === 0 || depth.series.every((s) => s.points.length === 0)) {
    throw new Error('writeReportFigures: the result figures need cpu-profile runs of table3 (softmax and A-Softmax) and of the depth study');
  }
  const size = { width: 1000, height: 600, scale: 1 };
  const figures: Record<(typeof REPORT_FIGURES)[number], [Figure, RenderOptions]> = {
    'paired-differences.png': [
      viz.pairedDifferenceFigure(panels, { title: 'Paired differences in canonical LFW accuracy against each baseline (cpu profile)' }),
      { ...size, height: 220 + 62 * panels.reduce((a, p) => a + p.rows.length, 0) + 90 * panels.length },
    ],
    'table3-accuracy-by-m.png': [
      viz.seedAccuracyFigure(margins, { title: 'Table 3 (cpu profile): canonical LFW accuracy against the margin m', xTitle: 'loss (A-Softmax margin m)' }),
      { ...size, height: 560 },
    ],
    'depth-accuracy.png': [
      viz.depthAccuracyFigure(depth.series, depth.depths, { title: 'Canonical LFW accuracy against depth (cpu profile)' }),
      { ...size, height: 620 },
    ],
    'table3-protocols.png': [viz.protocolsFigure(table3, { lfw: 99.42, label: 'paper, SphereFace-64 on CASIA-WebFace: 99.42 %' }), size],
    'table3-training.png': [viz.trainingCurvesFigure(table3), size],
    'psi.png': [viz.psiFigure(), size],
    'decision-regions.png': [viz.decisionRegionsFigure(), size],
    'margin-threshold.png': [viz.marginThresholdFigure(), size],
  };
  const dir = join(root, 'docs', 'figures');
  mkdirSync(dir, { recursive: true });
  const renderer = await viz.FigureRenderer.open();
  try {
    const written: string[] = [];
    for (const name of REPORT_FIGURES) {
      const [figure, options] = figures[name];
      writeFileAtomic(join(dir, name), await renderer.png(figure, options));
      written.push(join(dir, name));
    }
    return written;
  } finally {
    await renderer.close();
  }
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
