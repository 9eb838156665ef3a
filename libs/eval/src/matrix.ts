/**
 * Input handling shared by every protocol: features arrive as rows (number[][], Float32Array[], …) or as
 * one dense row-major buffer (what tfjs `tensor.data()` returns); everything is computed in float64.
 */

/** One feature vector per row. */
export type FeatureRows = ReadonlyArray<ArrayLike<number>>;

/** A row-major matrix in one buffer: row i is data[i*cols … (i+1)*cols). */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: ArrayLike<number>;
}

export type FeatureMatrix = FeatureRows | DenseMatrix;

/** A float64 copy of a feature matrix, validated. */
export interface Matrix64 {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

function isDense(m: FeatureMatrix): m is DenseMatrix {
  return !Array.isArray(m) && typeof (m as DenseMatrix).rows === 'number';
}

/**
 * Copies `m` into a float64 row-major buffer. `where` names the caller and the argument (e.g.
 * "lfwTenFold: left") so that errors point at the offending input, row and column.
 */
export function toMatrix64(m: FeatureMatrix, where: string): Matrix64 {
  if (isDense(m)) {
    const { rows, cols, data } = m;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) {
      throw new Error(`${where}: dense matrix has invalid shape ${rows}×${cols}`);
    }
    if (data.length !== rows * cols) {
      throw new Error(`${where}: dense matrix ${rows}×${cols} needs ${rows * cols} values, data has ${data.length}`);
    }
    const out = Float64Array.from(data);
    checkFinite(out, cols, where);
    return { rows, cols, data: out };
  }
  if (!Array.isArray(m)) throw new Error(`${where}: expected an array of rows or a {rows, cols, data} matrix`);
  const rows = m.length;
  if (rows === 0) throw new Error(`${where}: no rows`);
  const cols = m[0].length;
  if (cols < 1) throw new Error(`${where}: row 0 is empty`);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = m[i];
    if (row == null || row.length !== cols) {
      throw new Error(`${where}: row ${i} has ${row == null ? 'no' : row.length} values, expected ${cols} (row 0's length)`);
    }
    for (let j = 0; j < cols; j++) out[i * cols + j] = row[j];
  }
  checkFinite(out, cols, where);
  return { rows, cols, data: out };
}

function checkFinite(data: Float64Array, cols: number, where: string): void {
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      throw new Error(`${where}: row ${Math.floor(k / cols)} column ${k % cols} is ${data[k]} (features must be finite)`);
    }
  }
}

/** Validates pair labels (true = same identity) against the number of pairs. */
export function toLabels(same: ArrayLike<boolean>, nPairs: number, where: string): Uint8Array {
  if (same.length !== nPairs) {
    throw new Error(`${where}: same has ${same.length} labels but there are ${nPairs} pairs`);
  }
  const out = new Uint8Array(nPairs);
  for (let i = 0; i < nPairs; i++) {
    const v = same[i];
    if (typeof v !== 'boolean') throw new Error(`${where}: same[${i}] is ${String(v)}, expected a boolean`);
    out[i] = v ? 1 : 0;
  }
  return out;
}

/** Checks that two matrices pair up row by row (same count, same dimension). */
export function checkPairShapes(left: Matrix64, right: Matrix64, where: string, names = ['left', 'right']): void {
  if (left.rows !== right.rows) {
    throw new Error(`${where}: ${names[0]} has ${left.rows} rows but ${names[1]} has ${right.rows}`);
  }
  if (left.cols !== right.cols) {
    throw new Error(`${where}: ${names[0]} has dimension ${left.cols} but ${names[1]} has ${right.cols}`);
  }
}

/** Row-wise concatenation [a_i, b_i] (the paper's original+flip fusion). */
export function concatColumns(a: Matrix64, b: Matrix64): Matrix64 {
  const cols = a.cols + b.cols;
  const data = new Float64Array(a.rows * cols);
  for (let i = 0; i < a.rows; i++) {
    data.set(a.data.subarray(i * a.cols, (i + 1) * a.cols), i * cols);
    data.set(b.data.subarray(i * b.cols, (i + 1) * b.cols), i * cols + a.cols);
  }
  return { rows: a.rows, cols, data };
}

/**
 * Row-wise (a_i + b_i) / ‖a_i + b_i‖: insightface's flip fusion; opensphere averages instead, which is the
 * same vector after normalisation.
 */
export function sumAndNormalizeRows(a: Matrix64, b: Matrix64, where: string): Matrix64 {
  const { rows, cols } = a;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const v = a.data[i * cols + j] + b.data[i * cols + j];
      data[i * cols + j] = v;
      sq += v * v;
    }
    if (sq === 0) throw new Error(`${where}: row ${i} fuses to the zero vector, its direction is undefined`);
    const norm = Math.sqrt(sq);
    for (let j = 0; j < cols; j++) data[i * cols + j] /= norm;
  }
  return { rows, cols, data };
}

/** Σ_j a[i,j]·b[i,j] for each row i (a pair's dot product when row i of a and b are its two features). */
export function rowDots(a: Matrix64, b: Matrix64): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += a.data[i * a.cols + j] * b.data[i * a.cols + j];
    out[i] = s;
  }
  return out;
}

/** Σ_j (a[i,j] − b[i,j])² for each row i. */
export function rowSquaredDistances(a: Matrix64, b: Matrix64): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += (a.data[i * a.cols + j] - b.data[i * a.cols + j]) ** 2;
    out[i] = s;
  }
  return out;
}
