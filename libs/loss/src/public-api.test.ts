import { describe, expect, it } from 'vitest';
import * as root from '@sphereface/loss';
import * as bounds from '@sphereface/loss/bounds';

describe('public API', () => {
  it("the margin-bound checks are the subpath '@sphereface/loss/bounds', not the root", () => {
    expect(Object.keys(bounds)).toEqual(
      expect.arrayContaining(['verifyMarginBounds', 'formatMarginBoundsReport', 'PAPER_CLAIMS', 'binaryThreshold', 'intraInter']),
    );
    expect(Object.keys(root).filter((name) => name in bounds)).toEqual([]);
    expect(Object.keys(root)).toEqual(expect.arrayContaining(['getMarginLoss', 'listMarginLosses', 'registerMarginLoss', 'psi', 'lambdaAt']));
  });
});
