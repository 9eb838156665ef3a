import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './paths';
import { REPORT_FIGURES, writeReproductionReport } from './docs';
import { listRecords } from './record';
import { reportFigures } from './report-figures';
import { summarise } from './summary';

describe('docs/reproduction.md', () => {
  it('is what the committed run records generate (run `npm run docs` after recording runs)', () => {
    const { path, upToDate } = writeReproductionReport(repositoryRoot(), { check: true });
    expect(upToDate, `${path} is stale: run \`npm run docs\` and commit it`).toBe(true);
  });

  it('links each figure `npm run docs` renders, and each is committed', () => {
    const root = repositoryRoot();
    const summaries = summarise(listRecords(root).filter((r) => r.identity.config.profile === 'cpu' && !r.overrides?.length && !r.failure));
    expect(reportFigures(summaries, 'cpu').map((f) => f.file)).toEqual([...REPORT_FIGURES]);
    const report = readFileSync(join(root, 'docs', 'reproduction.md'), 'utf8');
    for (const name of REPORT_FIGURES) {
      expect(report).toContain(`(figures/${name})`);
      expect(existsSync(join(root, 'docs', 'figures', name)), `docs/figures/${name}: run \`npm run docs\``).toBe(true);
    }
  });
});
