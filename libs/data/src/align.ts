import type { Image } from './image';

/**
 * Coordinate convention used everywhere in this library: 0-based pixel coordinates with
 * pixel centres at integers, x to the right, y down. Pixel (col 0, row 0) covers
 * [-0.5, 0.5]², so an image W pixels wide spans x ∈ [-0.5, W - 0.5].
 * MATLAB's 1-based convention maps to this one by (x, y) -> (x - 1, y - 1).
 */
export type Point = readonly [number, number];

/** Affine map x' = m[0] x + m[1] y + m[2], y' = m[3] x + m[4] y + m[5]. */
export type Affine = readonly [number, number, number, number, number, number];

/**
 * The SphereFace 5-point template for a 96-wide × 112-high crop in MATLAB 1-based pixel
 * coordinates (face_align_demo.m): left eye, right eye, nose tip, left and right mouth corner.
 */
export const SPHEREFACE_TEMPLATE_MATLAB: readonly Point[] = [
  [30.2946, 51.6963],
  [65.5318, 51.5014],
  [48.0252, 71.7366],
  [33.5493, 92.3655],
  [62.7299, 92.2041],
];
export const TEMPLATE_HEIGHT = 112;
export const TEMPLATE_WIDTH = 96;

export interface CropSize {
  height: number;
  width: number;
}

/**
 * The template in this library's 0-based convention for a crop of the given size. Sizes other
 * than 112×96 must keep its aspect ratio; the template is scaled about the crop's outer edge
 * (p' = (p + 0.5)·s − 0.5), so a 56×48 crop covers exactly the face region of the 112×96 one.
 */
export function alignmentTemplate(size: CropSize = { height: TEMPLATE_HEIGHT, width: TEMPLATE_WIDTH }): Point[] {
  const s = size.width / TEMPLATE_WIDTH;
  if (Math.abs(size.height / TEMPLATE_HEIGHT - s) > 1e-12) {
    throw new Error(`crop ${size.height}x${size.width} does not have the template's 112x96 aspect ratio`);
  }
  return SPHEREFACE_TEMPLATE_MATLAB.map(([x, y]) => [(x - 1 + 0.5) * s - 0.5, (y - 1 + 0.5) * s - 0.5] as const);
}

export function applyAffine(m: Affine, [x, y]: Point): Point {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (det === 0 || !Number.isFinite(det)) throw new Error('affine map is singular');
  const a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

/**
 * Least-squares similarity from `from` to `to` (closed form of Umeyama 1991 in 2-D):
 * minimises Σ |T(from_i) − to_i|² over rotation+uniform scale+translation, or over
 * reflection+uniform scale+translation when `reflect`.
 */
function fitSimilarity(from: readonly Point[], to: readonly Point[], reflect: boolean): Affine {
  const n = from.length;
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i][0]; fy += from[i][1]; tx += to[i][0]; ty += to[i][1];
  }
  fx /= n; fy /= n; tx /= n; ty /= n;
  let norm = 0, p = 0, q = 0;
  for (let i = 0; i < n; i++) {
    const X = from[i][0] - fx, Y = from[i][1] - fy;
    const U = to[i][0] - tx, V = to[i][1] - ty;
    norm += X * X + Y * Y;
    // rotation: basis (X,Y),(−Y,X); reflection: basis (X,−Y),(Y,X); both orthogonal with norm |(X,Y)|
    p += reflect ? X * U - Y * V : X * U + Y * V;
    q += reflect ? Y * U + X * V : X * V - Y * U;
  }
  if (norm === 0) throw new Error('similarity fit needs at least two distinct points on each side');
  const a = p / norm, b = q / norm;
  const m: [number, number, number, number] = reflect ? [a, b, b, -a] : [a, -b, b, a];
  return [m[0], m[1], tx - m[0] * fx - m[1] * fy, m[2], m[3], ty - m[2] * fx - m[3] * fy];
}

function residualNorm(m: Affine, src: readonly Point[], dst: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < src.length; i++) {
    const [x, y] = applyAffine(m, src[i]);
    s += (x - dst[i][0]) ** 2 + (y - dst[i][1]) ** 2;
  }
  return Math.sqrt(s);
}

export interface SimilarityFit {
  /** Maps source points to destination points. */
  transform: Affine;
  reflective: boolean;
  /** √Σ|T(src_i) − dst_i|², in destination units. */
  residual: number;
}

/**
 * 2-D similarity transform taking `src` onto `dst`, with MATLAB cp2tform(src, dst, 'similarity')
 * semantics: the least-squares fit is made for the inverse map dst → src (residuals measured in
 * source space, as cp2tform does) and then inverted. With `allowReflection` (cp2tform's
 * 'similarity'), a reflective fit is also made and kept when its residual ‖T(src) − dst‖ is
 * strictly smaller; without it ('nonreflective similarity') only rotations are considered.
 */
export function similarityTransform(
  src: readonly Point[],
  dst: readonly Point[],
  opts: { allowReflection?: boolean } = {},
): SimilarityFit {
  if (src.length !== dst.length) throw new Error(`point counts differ: ${src.length} vs ${dst.length}`);
  // a zero-scale inverse fit means all src points coincide
  const inverse = fitSimilarity(dst, src, false);
  if (inverse[0] === 0 && inverse[1] === 0) throw new Error('similarity fit needs at least two distinct points on each side');
  const rot = invertAffine(inverse);
  const fit = { transform: rot, reflective: false, residual: residualNorm(rot, src, dst) };
  if (!opts.allowReflection) return fit;
  const ref = invertAffine(fitSimilarity(dst, src, true));
  const refResidual = residualNorm(ref, src, dst);
  return refResidual < fit.residual ? { transform: ref, reflective: true, residual: refResidual } : fit;
}

/**
 * Resample `img` through the inverse of `srcToDst` into a height×width RGB image. Bilinear
 * interpolation; samples outside the source blend towards 0 (MATLAB imtransform's default
 * fill value); values are rounded to 8 bits as imtransform does for uint8 input.
 * Grey input is replicated to three channels.
 */
export function warpAffine(img: Image, srcToDst: Affine, size: CropSize): Image {
  const [a, b, c, d, e, f] = invertAffine(srcToDst);
  const { width: W, height: H, channels: C, data } = img;
  const { width, height } = size;
  const out = new Uint8Array(width * height * 3);
  const g = C === 1 ? 0 : 1; // channel stride inside a pixel: grey reads the same byte three times
  let o = 0;
  for (let j = 0; j < height; j++) {
    let sx = b * j + c, sy = e * j + f; // source position of (0, j), stepped by (a, d) per column
    for (let i = 0; i < width; i++, o += 3, sx += a, sy += d) {
      if (sx >= 0 && sy >= 0 && sx < W - 1 && sy < H - 1) {
        // inside: truncation is floor, and adding 0.5 before truncation rounds (values ≥ 0)
        const x0 = sx | 0, y0 = sy | 0;
        const wx = sx - x0, wy = sy - y0;
        const p00 = (y0 * W + x0) * C, p10 = p00 + W * C;
        const w00 = (1 - wx) * (1 - wy), w01 = wx * (1 - wy), w10 = (1 - wx) * wy, w11 = wx * wy;
        for (let ch = 0; ch < 3; ch++) {
          const k = ch * g;
          out[o + ch] = (w00 * data[p00 + k] + w01 * data[p00 + C + k] + w10 * data[p10 + k] + w11 * data[p10 + C + k] + 0.5) | 0;
        }
      } else {
        // border: neighbours outside the image count as the fill value 0
        const x0 = Math.floor(sx), y0 = Math.floor(sy);
        const wx = sx - x0, wy = sy - y0;
        for (let ch = 0; ch < 3; ch++) {
          let v = 0;
          for (let dy = 0; dy <= 1; dy++) {
            const y = y0 + dy;
            if (y < 0 || y >= H) continue;
            for (let dx = 0; dx <= 1; dx++) {
              const x = x0 + dx;
              if (x >= 0 && x < W) v += (dx ? wx : 1 - wx) * (dy ? wy : 1 - wy) * data[(y * W + x) * C + ch * g];
            }
          }
          out[o + ch] = Math.round(v);
        }
      }
    }
  }
  return { width, height, channels: 3, data: out };
}

export interface AlignOptions extends CropSize {
  /** cp2tform 'similarity' semantics (the authors' setting); default true. */
  allowReflection?: boolean;
}

export const DEFAULT_ALIGN: Required<AlignOptions> = { height: TEMPLATE_HEIGHT, width: TEMPLATE_WIDTH, allowReflection: true };

export interface Aligned {
  image: Image;
  fit: SimilarityFit;
}

/** Warp a face so that its 5 landmarks (0-based, template order) best match the SphereFace template. */
export function alignFace(img: Image, landmarks: readonly Point[], opts: Partial<AlignOptions> = {}): Aligned {
  const o = { ...DEFAULT_ALIGN, ...opts };
  if (landmarks.length !== SPHEREFACE_TEMPLATE_MATLAB.length) {
    throw new Error(`alignFace needs ${SPHEREFACE_TEMPLATE_MATLAB.length} landmarks, got ${landmarks.length}`);
  }
  const fit = similarityTransform(landmarks, alignmentTemplate(o), { allowReflection: o.allowReflection });
  return { image: warpAffine(img, fit.transform, o), fit };
}

/**
 * For images without landmarks (AT&T): the largest centred region with the crop's aspect
 * ratio, resized bilinearly to the crop size.
 */
export function centreCrop(img: Image, size: CropSize): Image {
  const s = Math.min(img.width / size.width, img.height / size.height); // source pixels per crop pixel
  // crop pixel centre i sits at source x = left edge + (i + 0.5)·s
  const left = -0.5 + (img.width - size.width * s) / 2;
  const top = -0.5 + (img.height - size.height * s) / 2;
  const cropToSrc: Affine = [s, 0, left + 0.5 * s, 0, s, top + 0.5 * s];
  return warpAffine(img, invertAffine(cropToSrc), size);
}
