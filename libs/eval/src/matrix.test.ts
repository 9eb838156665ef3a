import { describe, expect, it } from 'vitest';
import { concatColumns, sumAndNormalizeRows, toMatrix64 } from './matrix';
import { std } from './stats';

describe('feature matrix input', () => {
  it('rows (number[][] or typed arrays) and dense buffers give the same float64 matrix', () => {
    const rows = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const a = toMatrix64(rows, 't');
    const b = toMatrix64(rows.map((r) => Float32Array.from(r)), 't');
    const c = toMatrix64({ rows: 2, cols: 3, data: Float32Array.from(rows.flat()) }, 't');
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
  it('reports ragged rows, empty input and non-finite values with their position', () => {
    expect(() => toMatrix64([[1, 2], [3]], 'f: x')).toThrow(/f: x: row 1 has 1 values, expected 2/);
    expect(() => toMatrix64([], 'f: x')).toThrow(/f: x: no rows/);
    expect(() => toMatrix64({ rows: 1, cols: 2, data: [1, Infinity] }, 'f: x')).toThrow(/row 0 column 1 is Infinity/);
  });
  it('concatenates and sum-normalises row by row', () => {
    const a = toMatrix64([[3, 0], [1, 1]], 't');
    const b = toMatrix64([[0, 4], [1, -1]], 't');
    expect(Array.from(concatColumns(a, b).data)).toEqual([3, 0, 0, 4, 1, 1, 1, -1]);
    expect(Array.from(sumAndNormalizeRows(a, b, 't').data)).toEqual([0.6, 0.8, 1, 0]);
    expect(() => sumAndNormalizeRows(a, toMatrix64([[-3, 0], [0, 0]], 't'), 'fuse')).toThrow(/fuse: row 0 fuses to the zero vector/);
  });
});

describe('std', () => {
  it('sample (N−1, MATLAB) and population (N, numpy) definitions', () => {
    expect(std([1, 2, 3, 4], 'sample')).toBeCloseTo(Math.sqrt(5 / 3), 15);
    expect(std([1, 2, 3, 4], 'population')).toBeCloseTo(Math.sqrt(1.25), 15);
    expect(() => std([1], 'sample')).toThrow(/at least 2 values/);
  });
});
