import { decoderId, DEFAULT_JPEG_DECODER, type JpegDecoder } from './decode';
import type { Image } from './image';
import { degenerateLandmarks, landmarksOutside } from './landmarks';

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

/**
 * insightface's 5-point template for 112×112 crops (`arcface_src` in python-package/insightface/utils/face_align.py),
 * in OpenCV's 0-based pixel coordinates, the convention insightface warps with (cv2.warpAffine): the same as this
 * library's, so the numbers are used unchanged. They are the SphereFace numbers + 8 px in x.
 */
export const INSIGHTFACE_TEMPLATE_SRC: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

export interface CropSize {
  height: number;
  width: number;
}

/**
 * A 5-point alignment template: where the landmarks (left eye, right eye, nose tip, left and right mouth corner,
 * the left eye being the one with the smaller x) go in a `width` × `height` frame. `points` are in this library's
 * 0-based convention (pixel centres at integers, the frame spans [−0.5, width − 0.5] × [−0.5, height − 0.5]).
 * The name is recorded: it enters crop-cache keys and view hashes (for any template but the default).
 */
export interface AlignmentTemplate {
  readonly name: string;
  readonly points: readonly Point[];
  readonly width: number;
  readonly height: number;
}

/** A template that cannot be used, or a name that is not one; the message names the template and what to fix. */
export class TemplateError extends Error {
  constructor(
    readonly template: string,
    readonly reason: string,
  ) {
    super(`alignment template ${JSON.stringify(template)}: ${reason}`);
    this.name = 'TemplateError';
  }
}

/** The specification of a user template; `origin` is the coordinate of the first pixel's centre in `points` (0, or 1 for MATLAB). */
export interface TemplateSpec {
  name: string;
  points: readonly (readonly number[])[];
  width: number;
  height: number;
  /** Default 0 (this library's and OpenCV's convention); 1 for MATLAB. Points are stored as p − origin. */
  origin?: number;
}

const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** Why `t` does not have the shape of a template (sizes, 5 pairs of finite numbers), or null. */
function shapeProblem(t: { points?: unknown; width?: unknown; height?: unknown }): string | null {
  for (const [k, v] of [['width', t.width], ['height', t.height]] as const) {
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) return `${k} must be a positive integer (pixels), got ${JSON.stringify(v)}`;
  }
  const points = t.points;
  if (!Array.isArray(points) || points.length !== 5) {
    const got = Array.isArray(points) ? `${points.length} points` : JSON.stringify(points);
    return `needs 5 points [x, y] (left eye, right eye, nose tip, left mouth corner, right mouth corner), got ${got}`;
  }
  for (let k = 0; k < 5; k++) {
    const p: unknown = points[k];
    if (!(Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
      return `point ${k + 1} must be [x, y] with two finite numbers, got ${JSON.stringify(p)}`;
    }
  }
  return null;
}

/** Why a template with a valid shape (0-based points) cannot be used, or null. */
function geometryProblem(t: AlignmentTemplate): string | null {
  const { width: W, height: H, points: pts } = t;
  const outside = landmarksOutside(pts, W, H);
  if (outside) return `points outside its ${W}×${H} frame (x in [−0.5, ${W - 0.5}], y in [−0.5, ${H - 0.5}], 0-based): ${outside}`;
  const degenerate = degenerateLandmarks(pts);
  if (degenerate) return `degenerate points: ${degenerate}`;
  if (!(pts[0][0] < pts[1][0])) {
    return `the left eye (point 1, x = ${pts[0][0]}) must have a smaller x than the right eye (point 2, x = ${pts[1][0]}); points are [x, y] in the order left eye, right eye, nose tip, left mouth corner, right mouth corner`;
  }
  if (!((pts[0][1] + pts[1][1]) / 2 < (pts[3][1] + pts[4][1]) / 2)) {
    return 'the eyes (points 1, 2) must lie above the mouth corners (points 4, 5): y grows downwards, points are [x, y]';
  }
  return null;
}

const nameOf = (name: unknown): string => (typeof name === 'string' ? name : JSON.stringify(name) ?? String(name));

/** `t` checked and copied (frozen, exactly the four fields); a template equal to a built-in is that built-in. */
function validated(t: AlignmentTemplate): AlignmentTemplate {
  const name = nameOf(t.name);
  if (typeof t.name !== 'string' || !TEMPLATE_NAME.test(t.name)) {
    throw new TemplateError(name, 'the name must be 1–64 characters of letters, digits, ".", "_", "+", "-", starting with a letter or digit');
  }
  const problem = shapeProblem(t) ?? geometryProblem(t);
  if (problem) throw new TemplateError(name, problem);
  const copy: AlignmentTemplate = Object.freeze({
    name: t.name,
    points: Object.freeze(t.points.map(([x, y]) => Object.freeze([x, y] as const))),
    width: t.width,
    height: t.height,
  });
  if (!Object.hasOwn(BUILTIN_TEMPLATES, t.name)) return copy;
  const builtin: AlignmentTemplate = BUILTIN_TEMPLATES[t.name as TemplateName];
  if (!sameTemplate(copy, builtin)) {
    throw new TemplateError(t.name, "this is a built-in template's name, but the points or size differ from it; give your template another name");
  }
  return builtin;
}

function sameTemplate(a: AlignmentTemplate, b: AlignmentTemplate): boolean {
  return a.name === b.name && a.width === b.width && a.height === b.height && a.points.every((p, i) => p[0] === b.points[i][0] && p[1] === b.points[i][1]);
}

/**
 * A user template from 5 points and a frame size, validated: 5 finite [x, y] points inside the frame, not degenerate
 * (eyes at least 2 px apart, not on one line), left eye left of the right eye, eyes above the mouth corners.
 * Throws a TemplateError naming the template and the problem.
 */
export function defineTemplate(spec: TemplateSpec): AlignmentTemplate {
  const origin = spec.origin ?? 0;
  const name = nameOf(spec.name);
  if (!(typeof origin === 'number' && Number.isFinite(origin))) throw new TemplateError(name, `origin must be a finite number (0, or 1 for MATLAB), got ${origin}`);
  const problem = shapeProblem(spec);
  if (problem) throw new TemplateError(name, problem);
  const points = spec.points.map(([x, y]) => [x - origin, y - origin] as const);
  return validated({ name: spec.name, points, width: spec.width, height: spec.height });
}

/** The paper's template (SPHEREFACE_TEMPLATE_MATLAB) moved to 0-based coordinates by (x, y) → (x − 1, y − 1); the default. */
export const SPHEREFACE_TEMPLATE: AlignmentTemplate = Object.freeze({
  name: 'sphereface-96x112',
  points: Object.freeze(SPHEREFACE_TEMPLATE_MATLAB.map(([x, y]) => Object.freeze([x - 1, y - 1] as const))),
  width: TEMPLATE_WIDTH,
  height: TEMPLATE_HEIGHT,
});

/** insightface's 112×112 template (INSIGHTFACE_TEMPLATE_SRC, 0-based as published). */
export const INSIGHTFACE_TEMPLATE: AlignmentTemplate = Object.freeze({
  name: 'insightface-112x112',
  points: Object.freeze(INSIGHTFACE_TEMPLATE_SRC.map(([x, y]) => Object.freeze([x, y] as const))),
  width: 112,
  height: 112,
});

export const BUILTIN_TEMPLATES = {
  'sphereface-96x112': SPHEREFACE_TEMPLATE,
  'insightface-112x112': INSIGHTFACE_TEMPLATE,
} as const satisfies Record<string, AlignmentTemplate>;
export type TemplateName = keyof typeof BUILTIN_TEMPLATES;
export const DEFAULT_TEMPLATE_NAME: TemplateName = 'sphereface-96x112';

/**
 * The template a name or object stands for: a built-in's name, or a template object (validated; one equal to a
 * built-in resolves to it). Undefined is the default, SphereFace's. Throws a TemplateError otherwise.
 */
export function resolveTemplate(t: AlignmentTemplate | TemplateName | undefined): AlignmentTemplate {
  if (t === undefined) return SPHEREFACE_TEMPLATE;
  if (typeof t === 'string') {
    if (Object.hasOwn(BUILTIN_TEMPLATES, t)) return BUILTIN_TEMPLATES[t];
    throw new TemplateError(t, `no built-in template has this name (built-in: ${Object.keys(BUILTIN_TEMPLATES).join(', ')}); give your own as { name, points, width, height } (defineTemplate)`);
  }
  if (t === null || typeof t !== 'object') throw new TemplateError(String(t), 'a template is a built-in name or an object { name, points, width, height }');
  return validated(t);
}

/** Whether `t` is the default template (SphereFace's), whose crops and hashes are those made before templates were named. */
export function isDefaultTemplate(t: AlignmentTemplate | TemplateName | undefined): boolean {
  return resolveTemplate(t) === SPHEREFACE_TEMPLATE;
}

/**
 * Where the template frame lies in a crop: template point p goes to (p + 0.5)·scale − 0.5 + offset. A crop with the
 * template's aspect ratio is the frame scaled about its outer edge (offsets 0). Any other crop holds the frame
 * scaled to fit (scale = min(width/template width, height/template height)) and centred, with the margin on the
 * longer side: the rule that relates the two built-ins (SphereFace's 96×112 frame centred in 112×112 is
 * insightface's, up to the one-pixel origin difference of the two conventions).
 */
export function templatePlacement(template: AlignmentTemplate, size: CropSize): { scale: number; offsetX: number; offsetY: number } {
  const sx = size.width / template.width, sy = size.height / template.height;
  if (Math.abs(sy - sx) <= 1e-12) return { scale: sx, offsetX: 0, offsetY: 0 };
  const scale = Math.min(sx, sy);
  return { scale, offsetX: (size.width - template.width * scale) / 2, offsetY: (size.height - template.height * scale) / 2 };
}

/**
 * The template's points, in this library's 0-based convention, for a crop of the given size (default: the
 * template's own size) — see templatePlacement. For the default template at 112×96 these are the paper's points
 * minus 1; a 56×48 crop covers exactly the face region of the 112×96 one.
 */
export function alignmentTemplate(opts: Partial<AlignOptions> = {}): Point[] {
  const { template, height, width } = resolveAlign(opts);
  const { scale: s, offsetX, offsetY } = templatePlacement(template, { height, width });
  return template.points.map(([x, y]) => [(x + 0.5) * s - 0.5 + offsetX, (y + 0.5) * s - 0.5 + offsetY] as const);
}

/**
 * A template for crops with a margin: the points of `template` placed in a height × width crop (alignmentTemplate),
 * moved by `margin` pixels right and down, on a (height + 2·margin) × (width + 2·margin) canvas. Aligning to it gives
 * the height × width crop with `margin` more pixels of the image on every side, so that random-crop augmentation
 * cuts windows of real image (the PyTorch port of SphereFace: template + 2 px on a 100×116 warp, random 96×112
 * windows). The centre window is the crop aligned without a margin.
 */
export function paddedTemplate(opts: Partial<AlignOptions> & { margin: number }): AlignmentTemplate {
  const { margin } = opts;
  if (!(Number.isInteger(margin) && margin >= 0)) throw new Error(`paddedTemplate: margin must be an integer ≥ 0, got ${margin}`);
  const { template, height, width } = resolveAlign(opts);
  const points = alignmentTemplate(opts).map(([x, y]) => [x + margin, y + margin] as const);
  return validated({ name: `${template.name}.${width}x${height}+${margin}px`, points, width: width + 2 * margin, height: height + 2 * margin });
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
  /** The 5-point template: a built-in's name or a template object (defineTemplate); default 'sphereface-96x112'. */
  template?: AlignmentTemplate | TemplateName;
  /** The JPEG decoder the crops are made with (it travels with the alignment into workers and keys); default 'jpeg-js'. */
  decoder?: JpegDecoder;
}

export const DEFAULT_ALIGN: Required<AlignOptions> = {
  height: TEMPLATE_HEIGHT,
  width: TEMPLATE_WIDTH,
  allowReflection: true,
  template: DEFAULT_TEMPLATE_NAME,
  decoder: DEFAULT_JPEG_DECODER,
};

/** Alignment options with every field filled in and the template resolved (what workers receive). */
export interface ResolvedAlign extends CropSize {
  allowReflection: boolean;
  template: AlignmentTemplate;
  decoder: JpegDecoder;
}

/**
 * Fill in alignment options: the template (default SphereFace's), the crop size (default: the template's own
 * size, so 112×96 for the default and 112×112 for insightface's), allowReflection (default true).
 */
export function resolveAlign(opts: Partial<AlignOptions> = {}): ResolvedAlign {
  const template = resolveTemplate(opts.template);
  const height = opts.height ?? template.height, width = opts.width ?? template.width;
  for (const [k, v] of [['height', height], ['width', width]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`crop ${k} must be a positive integer, got ${v}`);
  }
  const decoder = opts.decoder ?? DEFAULT_JPEG_DECODER;
  decoderId(decoder); // an unknown decoder is the caller's error, before any file is read
  return { height, width, allowReflection: opts.allowReflection ?? true, template, decoder };
}

/**
 * The alignment as it enters view hashes (datasetViewHash, pairsViewHash): the options as given, with the
 * template resolved to { name, points, width, height }, and left out when it is the default one, so that views
 * aligned with SphereFace's template keep the hashes (and run IDs) they had before templates were named.
 */
export function alignmentRecord(align: AlignOptions): Record<string, unknown> {
  // The decoder enters view hashes on its own (as its id), so it is not repeated here.
  const { template, decoder: _decoder, ...rest } = align;
  if (template === undefined) return rest;
  const t = resolveTemplate(template);
  return t === SPHEREFACE_TEMPLATE ? rest : { ...rest, template: t };
}

export interface Aligned {
  image: Image;
  fit: SimilarityFit;
}

/**
 * Warp a face so that its 5 landmarks (0-based, template order) best match the template (default SphereFace's)
 * placed in the crop as templatePlacement says.
 */
export function alignFace(img: Image, landmarks: readonly Point[], opts: Partial<AlignOptions> = {}): Aligned {
  const o = resolveAlign(opts);
  if (landmarks.length !== o.template.points.length) {
    throw new Error(`alignFace needs ${o.template.points.length} landmarks, got ${landmarks.length}`);
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
