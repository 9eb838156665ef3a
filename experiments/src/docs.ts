import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@sphereface/common';
import { listRecords } from './record';
import { reproductionReport } from './summary';

export function reproductionReportPath(root: string): string {
  return join(root, 'docs', 'reproduction.md');
}

/** Regenerates docs/reproduction.md from the committed records; with `check`, only compares. */
export function writeReproductionReport(root: string, options: { check?: boolean } = {}): { path: string; upToDate: boolean } {
  const path = reproductionReportPath(root);
  const text = `${reproductionReport(listRecords(root))}\n`;
  const upToDate = existsSync(path) && readFileSync(path, 'utf8') === text;
  if (!options.check && !upToDate) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, text);
  }
  return { path, upToDate };
}
