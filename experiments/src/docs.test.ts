import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './paths';
import { writeReproductionReport } from './docs';

describe('docs/reproduction.md', () => {
  it('is what the committed run records generate (run `npm run docs` after recording runs)', () => {
    const { path, upToDate } = writeReproductionReport(repositoryRoot(), { check: true });
    expect(upToDate, `${path} is stale: run \`npm run docs\` and commit it`).toBe(true);
  });
});
