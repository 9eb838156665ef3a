import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Test helper: the AT&T (ORL) faces, downscaled and normalised like the paper's inputs. */
const REPO = resolve(import.meta.dirname, '../../../..');
// Same data-root rule as libs/data: $SPHEREFACE_DATA, else ../shared/data beside the repo, else ./data in it.
const DATA_ROOT = process.env.SPHEREFACE_DATA
  ? resolve(process.env.SPHEREFACE_DATA)
  : existsSync(join(REPO, '../shared/data'))
    ? join(REPO, '../shared/data')
    : join(REPO, 'data');
export const ATT_DIR = join(DATA_ROOT, 'att_faces');

/** Reads a binary (P5) 8-bit PGM. */
export function readPgm(path: string): { width: number; height: number; pixels: Uint8Array } {
  const buf = readFileSync(path);
  // Header: magic, width, height, maxval, separated by whitespace (comments start with '#'), then one whitespace byte.
  const tokens: string[] = [];
  let i = 0;
  while (tokens.length < 4) {
    while (i < buf.length && /\s/.test(String.fromCharCode(buf[i]))) i++;
    if (buf[i] === 0x23) {
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    const start = i;
    while (i < buf.length && !/\s/.test(String.fromCharCode(buf[i]))) i++;
    tokens.push(buf.subarray(start, i).toString('ascii'));
  }
  const [magic, w, h, max] = tokens;
  const width = Number(w), height = Number(h);
  if (magic !== 'P5' || Number(max) > 255) throw new Error(`${path}: not an 8-bit binary PGM (header ${tokens.join(' ')})`);
  const pixels = buf.subarray(i + 1, i + 1 + width * height);
  if (pixels.length !== width * height) throw new Error(`${path}: truncated, ${pixels.length} of ${width * height} pixels`);
  return { width, height, pixels };
}

/** Box-filter downscale to [h, w], grey replicated to 3 channels, (p − 127.5)/128. */
function toInput(img: { width: number; height: number; pixels: Uint8Array }, h: number, w: number, out: Float32Array, offset: number): void {
  const sy = img.height / h, sx = img.width / w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0, n = 0;
      for (let yy = Math.floor(y * sy); yy < Math.floor((y + 1) * sy); yy++) {
        for (let xx = Math.floor(x * sx); xx < Math.floor((x + 1) * sx); xx++) {
          sum += img.pixels[yy * img.width + xx];
          n++;
        }
      }
      const v = (sum / n - 127.5) / 128;
      const o = offset + (y * w + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = v;
    }
  }
}

export interface AttSplit {
  images: Float32Array;
  labels: Int32Array;
}

/** Loads identities s1..s40; images 1..trainPerId of each go to train, the rest to test (closed-set). */
export function loadAttFaces(size: [number, number], trainPerId = 7, dir = ATT_DIR): { train: AttSplit; test: AttSplit; numClasses: number } {
  if (!existsSync(dir)) throw new Error(`loadAttFaces: ${dir} not found (set SPHEREFACE_DATA to the data root)`);
  const ids = readdirSync(dir).filter((d) => /^s\d+$/.test(d)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const [h, w] = size;
  const per = h * w * 3;
  const collect = (pick: (k: number) => boolean) => {
    const items: [number, string][] = [];
    ids.forEach((id, label) => {
      for (let k = 1; k <= 10; k++) if (pick(k)) items.push([label, join(dir, id, `${k}.pgm`)]);
    });
    const images = new Float32Array(items.length * per);
    items.forEach(([, p], i) => toInput(readPgm(p), h, w, images, i * per));
    return { images, labels: Int32Array.from(items.map(([l]) => l)) };
  };
  return { train: collect((k) => k <= trainPerId), test: collect((k) => k > trainPerId), numClasses: ids.length };
}
