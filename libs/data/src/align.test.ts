import { describe, expect, it } from 'vitest';
import {
  type Affine, type AlignmentTemplate, type AlignOptions, type Point, alignFace, alignmentRecord, alignmentTemplate, applyAffine, centreCrop,
  defineTemplate, INSIGHTFACE_TEMPLATE, invertAffine, paddedTemplate, isDefaultTemplate, resolveAlign, resolveTemplate, SPHEREFACE_TEMPLATE,
  SPHEREFACE_TEMPLATE_MATLAB, similarityTransform, TemplateError, templatePlacement, warpAffine,
} from './align';
import type { Image } from './image';
import { mulberry32 } from '@sphereface/common';

const rng = mulberry32(1234);
const rand = (lo: number, hi: number) => lo + (hi - lo) * rng();

function similarity(theta: number, s: number, tx: number, ty: number, reflect = false): Affine {
  const c = s * Math.cos(theta), d = s * Math.sin(theta);
  // reflection about the y axis first (x -> -x), then rotation+scale
  return reflect ? [-c, -d, tx, -d, c, ty] : [c, -d, tx, d, c, ty];
}

const randomPoints = (n: number): Point[] => Array.from({ length: n }, () => [rand(0, 150), rand(0, 150)] as Point);

function expectAffineClose(a: Affine, b: Affine, digits: number) {
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i], digits));
}

/**
 * Oracle: MATLAB cp2tform's own formulation, solved by normal equations with Gaussian
 * elimination: find (sc, ss, tx, ty) with src ≈ [x y 1 0; y −x 0 1]·p for x, y from dst
 * (the inverse map), optionally with dst x negated for the reflective candidate.
 */
function cp2tformInverse(src: readonly Point[], dst: readonly Point[], reflect: boolean): Affine {
  const rows: number[][] = [];
  const rhs: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const x = reflect ? -dst[i][0] : dst[i][0], y = dst[i][1];
    rows.push([x, y, 1, 0]); rhs.push(src[i][0]);
    rows.push([y, -x, 0, 1]); rhs.push(src[i][1]);
  }
  const A = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => rows.reduce((s, row) => s + row[r] * row[c], 0)));
  const b = [0, 1, 2, 3].map((r) => rows.reduce((s, row, k) => s + row[r] * rhs[k], 0));
  for (let c = 0; c < 4; c++) {
    for (let r = c + 1; r < 4; r++) {
      const f = A[r][c] / A[c][c];
      for (let k = c; k < 4; k++) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  const p = [0, 0, 0, 0];
  for (let r = 3; r >= 0; r--) p[r] = (b[r] - [0, 1, 2, 3].slice(r + 1).reduce((s, k) => s + A[r][k] * p[k], 0)) / A[r][r];
  const [sc, ss, tx, ty] = p;
  // u = sc·x + ss·y + tx, v = −ss·x + sc·y + ty, with x negated for the reflective fit
  const inv: Affine = reflect ? [-sc, ss, tx, ss, sc, ty] : [sc, ss, tx, -ss, sc, ty];
  return invertAffine(inv);
}

describe('similarityTransform', () => {
  it('recovers known rotations, scales and translations exactly', () => {
    for (let k = 0; k < 50; k++) {
      const T = similarity(rand(-Math.PI, Math.PI), rand(0.2, 3), rand(-100, 100), rand(-100, 100));
      const src = randomPoints(5);
      const dst = src.map((p) => applyAffine(T, p));
      for (const allowReflection of [false, true]) {
        const fit = similarityTransform(src, dst, { allowReflection });
        expect(fit.reflective).toBe(false);
        expectAffineClose(fit.transform, T, 9);
        expect(fit.residual).toBeLessThan(1e-9);
      }
    }
  });

  it('recovers a reflection only when reflection is allowed', () => {
    for (let k = 0; k < 20; k++) {
      const T = similarity(rand(-Math.PI, Math.PI), rand(0.5, 2), rand(-50, 50), rand(-50, 50), true);
      const src = randomPoints(5);
      const dst = src.map((p) => applyAffine(T, p));
      const refl = similarityTransform(src, dst, { allowReflection: true });
      expect(refl.reflective).toBe(true);
      expectAffineClose(refl.transform, T, 9);
      const det = refl.transform[0] * refl.transform[4] - refl.transform[1] * refl.transform[3];
      expect(det).toBeLessThan(0);
      const rot = similarityTransform(src, dst);
      expect(rot.reflective).toBe(false);
      expect(rot.transform[0] * rot.transform[4] - rot.transform[1] * rot.transform[3]).toBeGreaterThan(0);
      expect(rot.residual).toBeGreaterThan(1);
    }
  });

  it('matches an independent solve of the cp2tform least-squares system on noisy points', () => {
    for (let k = 0; k < 30; k++) {
      const reflect = k % 2 === 1;
      const T = similarity(rand(-1, 1), rand(0.5, 2), rand(-20, 20), rand(-20, 20), reflect);
      const src = randomPoints(5);
      const dst = src.map((p) => applyAffine(T, p).map((v) => v + rand(-3, 3)) as unknown as Point);
      const fit = similarityTransform(src, dst, { allowReflection: true });
      expect(fit.reflective).toBe(reflect);
      expectAffineClose(fit.transform, cp2tformInverse(src, dst, reflect), 8);
    }
  });

  it('rejects degenerate input', () => {
    expect(() => similarityTransform([[1, 1], [1, 1]], [[0, 0], [1, 1]])).toThrow(/two distinct/);
    expect(() => similarityTransform([[0, 0], [1, 1]], [[1, 1], [1, 1]])).toThrow(/two distinct/);
    expect(() => similarityTransform([[1, 1]], [[0, 0], [1, 1]])).toThrow(/counts differ/);
  });
});

describe('template', () => {
  it('is the paper template moved from MATLAB 1-based to 0-based coordinates', () => {
    const t = alignmentTemplate();
    expect(t[0][0]).toBeCloseTo(29.2946, 12);
    expect(t[4][1]).toBeCloseTo(91.2041, 12);
    t.forEach((p, i) => expect(p).toEqual([SPHEREFACE_TEMPLATE_MATLAB[i][0] - 1, SPHEREFACE_TEMPLATE_MATLAB[i][1] - 1]));
  });

  it('scales about the crop edge for 56x48, covering the same face region', () => {
    const full = alignmentTemplate();
    const half = alignmentTemplate({ height: 56, width: 48 });
    half.forEach((p, i) => {
      expect(p[0]).toBeCloseTo((full[i][0] + 0.5) / 2 - 0.5, 12);
      expect(p[1]).toBeCloseTo((full[i][1] + 0.5) / 2 - 0.5, 12);
    });
  });
});

/** The published numbers, typed in again here (not imported), so that a changed constant fails these tests. */
const SPHEREFACE_MATLAB_96x112 = [[30.2946, 51.6963], [65.5318, 51.5014], [48.0252, 71.7366], [33.5493, 92.3655], [62.7299, 92.2041]];
/** insightface python-package/insightface/utils/face_align.py, arcface_src (0-based, cv2.warpAffine). */
const ARCFACE_SRC_112x112 = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

describe('alignment templates', () => {
  it('has the two built-ins with their published coordinates: SphereFace (MATLAB, moved to 0-based) and insightface (0-based as published)', () => {
    expect(SPHEREFACE_TEMPLATE).toMatchObject({ name: 'sphereface-96x112', width: 96, height: 112 });
    expect(SPHEREFACE_TEMPLATE.points).toEqual(SPHEREFACE_MATLAB_96x112.map(([x, y]) => [x - 1, y - 1]));
    expect(INSIGHTFACE_TEMPLATE).toMatchObject({ name: 'insightface-112x112', width: 112, height: 112 });
    expect(INSIGHTFACE_TEMPLATE.points).toEqual(ARCFACE_SRC_112x112);
    expect(resolveTemplate('insightface-112x112')).toBe(INSIGHTFACE_TEMPLATE);
    expect(resolveTemplate(undefined)).toBe(SPHEREFACE_TEMPLATE);
    // the default crop size is the template's own
    expect(resolveAlign({ template: 'insightface-112x112' })).toMatchObject({ height: 112, width: 112, allowReflection: true });
    expect(resolveAlign({})).toMatchObject({ height: 112, width: 96, template: SPHEREFACE_TEMPLATE });
    expect(alignmentTemplate({ template: 'insightface-112x112' })).toEqual(ARCFACE_SRC_112x112);
    // a copy of a built-in (e.g. one that went through a worker's structured clone) is that built-in
    expect(resolveTemplate(structuredClone(SPHEREFACE_TEMPLATE) as AlignmentTemplate)).toBe(SPHEREFACE_TEMPLATE);
    expect(isDefaultTemplate(JSON.parse(JSON.stringify(SPHEREFACE_TEMPLATE)))).toBe(true);
    expect(isDefaultTemplate('insightface-112x112')).toBe(false);
  });

  it('scales a template to a crop of its aspect ratio about the crop edge', () => {
    const s = 150 / 112;
    alignmentTemplate({ template: 'insightface-112x112', height: 150, width: 150 }).forEach((p, i) => {
      expect(p[0]).toBeCloseTo((ARCFACE_SRC_112x112[i][0] + 0.5) * s - 0.5, 10);
      expect(p[1]).toBeCloseTo((ARCFACE_SRC_112x112[i][1] + 0.5) * s - 0.5, 10);
    });
    expect(templatePlacement(INSIGHTFACE_TEMPLATE, { height: 150, width: 150 })).toEqual({ scale: s, offsetX: 0, offsetY: 0 });
  });

  it('fits and centres a template in a crop of another aspect ratio (SphereFace at 150×150, at 112×112, at 96×96)', () => {
    // 150×150: scale 150/112 (the height fits), the 96·150/112 = 128.6 px wide frame centred: 10.7 px on each side
    const s = 150 / 112, ox = (150 - 96 * s) / 2;
    expect(ox).toBeCloseTo(10.714, 3);
    alignmentTemplate({ height: 150, width: 150 }).forEach((p, i) => {
      expect(p[0]).toBeCloseTo((SPHEREFACE_MATLAB_96x112[i][0] - 1 + 0.5) * s - 0.5 + ox, 10);
      expect(p[1]).toBeCloseTo((SPHEREFACE_MATLAB_96x112[i][1] - 1 + 0.5) * s - 0.5, 10);
    });
    // 112×112: SphereFace's frame centred (8 px each side) is insightface's template, but for the one-pixel origin
    // difference: SphereFace's numbers are MATLAB 1-based, insightface's (the same numbers + 8 in x) OpenCV 0-based
    alignmentTemplate({ height: 112, width: 112 }).forEach((p, i) => {
      expect(p[0]).toBeCloseTo(ARCFACE_SRC_112x112[i][0] - 1, 10);
      expect(p[1]).toBeCloseTo(ARCFACE_SRC_112x112[i][1] - 1, 10);
    });
    // 96×96: the height fits (scale 96/112), the frame is centred horizontally; nothing of it is cut off
    const p96 = templatePlacement(SPHEREFACE_TEMPLATE, { height: 96, width: 96 });
    expect(p96.scale).toBe(96 / 112);
    expect(p96.offsetX).toBeCloseTo((96 - 96 * (96 / 112)) / 2, 12);
    expect(p96.offsetY).toBe(0);
  });

  const user = defineTemplate({
    name: 'tight-100x120', width: 100, height: 120, origin: 1,
    points: [[32, 50], [70, 50], [51, 72], [36, 95], [66, 95]],
  });

  it('defines a user template from 5 points and a size (origin 1 moved to 0-based), recorded by name', () => {
    expect(user).toEqual({ name: 'tight-100x120', width: 100, height: 120, points: [[31, 49], [69, 49], [50, 71], [35, 94], [65, 94]] });
    expect(resolveTemplate(user)).toEqual(user);
    expect(resolveAlign({ template: user })).toMatchObject({ height: 120, width: 100 });
    const size = { height: 112, width: 96, allowReflection: true };
    expect(alignmentRecord({ ...size, template: user })).toEqual({ ...size, template: user });
    expect(alignmentRecord({ ...size, template: 'insightface-112x112' })).toEqual({ ...size, template: INSIGHTFACE_TEMPLATE });
    // the default template is left out, so records made before templates were named keep their hashes
    expect(alignmentRecord({ ...size, template: 'sphereface-96x112' })).toEqual(size);
    expect(alignmentRecord({ ...size, template: SPHEREFACE_TEMPLATE })).toEqual(size);
    expect(alignmentRecord(size)).toEqual(size);
  });

  it('rejects unusable templates with a TemplateError that names the template and the problem', () => {
    const pts = SPHEREFACE_MATLAB_96x112.map(([x, y]) => [x - 1, y - 1] as Point);
    const spec = { name: 'mine', width: 96, height: 112, points: pts };
    const bad = (t: object, message: RegExp) => {
      let err: unknown;
      try {
        defineTemplate({ ...spec, ...t });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(t)).toBeInstanceOf(TemplateError);
      expect((err as Error).name).toBe('TemplateError');
      expect((err as Error).message, JSON.stringify(t)).toMatch(message);
    };
    bad({ points: pts.slice(0, 4) }, /^alignment template "mine": needs 5 points .*got 4 points/);
    bad({ points: [...pts.slice(0, 4), [NaN, 3]] }, /point 5 must be \[x, y\] with two finite numbers/);
    bad({ points: [...pts.slice(0, 4), [1, 2, 3]] }, /point 5 must be \[x, y\]/);
    bad({ points: [...pts.slice(0, 4), ['62', 91]] }, /point 5 must be \[x, y\] with two finite numbers, got \["62",91\]/);
    bad({ width: 60 }, /points outside its 60×112 frame .*right eye at \(64\.5, 50\.5\), right mouth corner at \(61\.7, 91\.2\)/);
    bad({ points: pts.map(([x, y]) => [x, y + 30]) }, /points outside its 96×112 frame .*mouth corner/);
    bad({ width: 0 }, /width must be a positive integer/);
    bad({ height: 112.5 }, /height must be a positive integer/);
    bad({ points: [[40, 50], [41, 50], ...pts.slice(2)] }, /degenerate points: the eyes are 1\.00 px apart/);
    bad({ points: [[10, 10], [30, 30], [50, 50], [70, 70], [90, 90.5]] }, /degenerate points: the 5 points lie on a line/);
    bad({ points: [pts[1], pts[0], ...pts.slice(2)] }, /the left eye \(point 1, x = 64\.5318\) must have a smaller x than the right eye/);
    bad({ points: pts.map(([x, y]) => [x, 111 - y]) }, /the eyes \(points 1, 2\) must lie above the mouth corners/);
    bad({ name: '' }, /^alignment template "": the name must be/);
    bad({ name: 'my template' }, /the name must be 1–64 characters/);
    bad({ origin: NaN }, /origin must be a finite number/);
    bad({ name: 'sphereface-96x112', points: [...pts.slice(0, 4), [61.8, 91.2]] }, /^alignment template "sphereface-96x112": this is a built-in template's name, but the points or size differ/);
    // a built-in's exact content under its own name is that built-in, not an error
    expect(defineTemplate({ ...spec, name: 'sphereface-96x112', points: SPHEREFACE_MATLAB_96x112, origin: 1 })).toBe(SPHEREFACE_TEMPLATE);
    // names and objects reach the same checks through AlignOptions
    expect(() => resolveTemplate('arcface' as never)).toThrow(/alignment template "arcface": no built-in template has this name \(built-in: sphereface-96x112, insightface-112x112\); give your own as \{ name, points, width, height \}/);
    expect(() => alignFace(ramp(4, 4, 3), pts, { template: { ...user, points: user.points.slice(1) } })).toThrow(TemplateError);
    expect(() => resolveAlign({ height: 0 })).toThrow(/crop height must be a positive integer, got 0/);
    expect(() => resolveAlign({ width: 95.5 })).toThrow(/crop width must be a positive integer, got 95.5/);
  });

  // Gaussian blobs at the landmarks of a rotated, scaled face; after alignment each blob's centroid sits at the point
  // the template is documented to have in the crop (typed-in numbers and formulas, not alignmentTemplate).
  const expected: [string, Partial<AlignOptions>, number, number, (i: number) => Point][] = [
    ['SphereFace 112×96', {}, 112, 96, (i) => [SPHEREFACE_MATLAB_96x112[i][0] - 1, SPHEREFACE_MATLAB_96x112[i][1] - 1]],
    ['insightface 112×112', { template: 'insightface-112x112' }, 112, 112, (i) => ARCFACE_SRC_112x112[i] as unknown as Point],
    ['user 100×120 at its size', { template: user }, 120, 100, (i) => user.points[i]],
    ['user 100×120 at 120×120 (fit and centre)', { template: user, height: 120, width: 120 }, 120, 120, (i) => [user.points[i][0] + 10, user.points[i][1]]],
    ['SphereFace at 150×150 (fit and centre)', { height: 150, width: 150 }, 150, 150,
      (i) => [(SPHEREFACE_MATLAB_96x112[i][0] - 0.5) * (150 / 112) - 0.5 + (150 - 96 * (150 / 112)) / 2, (SPHEREFACE_MATLAB_96x112[i][1] - 0.5) * (150 / 112) - 0.5]],
  ];
  it.each(expected)('alignFace puts the landmarks on the template points: %s', (_, opts, H, W, at) => {
    // the face rotated by 0.2 rad and 1/0.55 times larger, centred in a 260×280 image
    const T = similarity(0.2, 1 / 0.55, 0, 0);
    const targets = [0, 1, 2, 3, 4].map(at);
    const lm = targets.map(([x, y]) => applyAffine(T, [x - W / 2, y - H / 2])).map(([x, y]) => [x + 130, y + 140] as Point);
    const SW = 260, SH = 280;
    const data = new Uint8Array(SW * SH * 3);
    for (let y = 0; y < SH; y++) for (let x = 0; x < SW; x++) {
      const v = lm.reduce((s, [px, py]) => s + 250 * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * 2.5 ** 2)), 0);
      data.fill(Math.min(255, Math.round(v)), (y * SW + x) * 3, (y * SW + x) * 3 + 3);
    }
    const { image, fit } = alignFace({ width: SW, height: SH, channels: 3, data }, lm, opts);
    expect([image.height, image.width]).toEqual([H, W]);
    expect(fit.residual).toBeLessThan(1e-9);
    for (const [tx, ty] of targets) {
      let s = 0, sx = 0, sy = 0;
      for (let j = Math.round(ty) - 7; j <= Math.round(ty) + 7; j++) for (let i = Math.round(tx) - 7; i <= Math.round(tx) + 7; i++) {
        const v = image.data[(j * W + i) * 3];
        s += v; sx += v * i; sy += v * j;
      }
      expect(Math.abs(sx / s - tx)).toBeLessThan(0.05);
      expect(Math.abs(sy / s - ty)).toBeLessThan(0.05);
    }
  });
});

/**
 * f(x, y) = 0.8x + 0.5y + 10 + 20c rounded at pixel centres: bilinear interpolation reproduces a
 * linear function, so a warp is off by at most 0.5 (storage rounding) + 0.5 (output rounding).
 */
const rampValue = (x: number, y: number, c: number) => 0.8 * x + 0.5 * y + 10 + 20 * c;
function ramp(width: number, height: number, channels: 1 | 3): Image {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = Math.round(rampValue(x, y, c));
  }
  return { width, height, channels, data };
}

describe('paddedTemplate (random-crop margins)', () => {
  it('aligns crops with a margin whose centre window is the crop aligned without one', () => {
    const src = ramp(150, 150, 3);
    const T = similarity(0.2, 0.55, 20, 25);
    const lm = alignmentTemplate({ height: 56, width: 48 }).map((p) => applyAffine(invertAffine(T), p));
    for (const [height, width, margin] of [[112, 96, 2], [56, 48, 2], [56, 48, 3]]) {
      const plain = alignFace(src, lm, { height, width }).image;
      const template = paddedTemplate({ height, width, margin });
      expect([template.width, template.height]).toEqual([width + 2 * margin, height + 2 * margin]);
      expect(template.name).toBe(`sphereface-96x112.${width}x${height}+${margin}px`);
      const padded = alignFace(src, lm, { template, height: height + 2 * margin, width: width + 2 * margin }).image;
      let worst = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < width * 3; x++) {
        worst = Math.max(worst, Math.abs(padded.data[((y + margin) * (width + 2 * margin)) * 3 + margin * 3 + x] - plain.data[y * width * 3 + x]));
      }
      // The same similarity up to the float rounding of its fit: a pixel may round the other way, no more.
      expect(worst, `${height}×${width} + ${margin}`).toBeLessThanOrEqual(1);
    }
    expect(() => paddedTemplate({ margin: -1 })).toThrow(/margin must be an integer ≥ 0/);
  });
});

describe('warpAffine / alignFace', () => {
  it('samples at the inverse-mapped pixel centre (0-based, centres at integers)', () => {
    const src = ramp(150, 150, 3);
    const T = similarity(0.3, 1.4, -40, -60);
    const out = warpAffine(src, T, { height: 112, width: 96 });
    const inv = invertAffine(T);
    let checked = 0;
    for (let j = 0; j < 112; j++) for (let i = 0; i < 96; i++) {
      const [sx, sy] = applyAffine(inv, [i, j]);
      if (sx < 1 || sy < 1 || sx > 148 || sy > 148) continue;
      for (let c = 0; c < 3; c++) expect(Math.abs(out.data[(j * 96 + i) * 3 + c] - rampValue(sx, sy, c))).toBeLessThanOrEqual(1);
      checked++;
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('is the identity for the identity transform and shifts by whole pixels exactly', () => {
    const src = ramp(96, 112, 3);
    expect(warpAffine(src, [1, 0, 0, 0, 1, 0], { height: 112, width: 96 }).data).toEqual(src.data);
    const shifted = warpAffine(src, [1, 0, -3, 0, 1, -2], { height: 100, width: 90 });
    expect(shifted.data[0]).toBe(src.data[(2 * 96 + 3) * 3]);
    expect(shifted.data[(99 * 90 + 89) * 3 + 2]).toBe(src.data[(101 * 96 + 92) * 3 + 2]);
  });

  it('fills outside the source towards 0 and replicates grey to RGB', () => {
    const grey: Image = { width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(200) };
    const out = warpAffine(grey, [1, 0, 0.5, 0, 1, 0], { height: 4, width: 6 });
    expect(out.channels).toBe(3);
    expect(Array.from(out.data.subarray(0, 3))).toEqual([100, 100, 100]); // half outside on the left
    expect(Array.from(out.data.subarray(3, 6))).toEqual([200, 200, 200]);
    expect(out.data[5 * 3]).toBe(0);
  });

  it('moves blobs drawn at the landmarks onto the template', () => {
    // Gaussian blobs (σ = 2.5 px) at 5 rotated, scaled face points; after alignment the intensity
    // centroid of each blob must sit where the fitted transform sends the landmark.
    const T = similarity(0.25, 0.6, 20, 25);
    const lm = alignmentTemplate().map((p) => applyAffine(invertAffine(T), p));
    const W = 200, H = 220;
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const v = lm.reduce((s, [px, py]) => s + 250 * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * 2.5 ** 2)), 0);
      data.fill(Math.min(255, Math.round(v)), (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
    const { image, fit } = alignFace({ width: W, height: H, channels: 3, data }, lm);
    expect(fit.residual).toBeLessThan(1e-9);
    for (const [tx, ty] of alignmentTemplate()) {
      let s = 0, sx = 0, sy = 0;
      for (let j = Math.round(ty) - 7; j <= Math.round(ty) + 7; j++) for (let i = Math.round(tx) - 7; i <= Math.round(tx) + 7; i++) {
        const v = image.data[(j * 96 + i) * 3];
        s += v; sx += v * i; sy += v * j;
      }
      expect(Math.abs(sx / s - tx)).toBeLessThan(0.05);
      expect(Math.abs(sy / s - ty)).toBeLessThan(0.05);
    }
  });

  it('centre-crops to the crop aspect ratio', () => {
    const src = ramp(92, 112, 1);
    const out = centreCrop(src, { height: 112, width: 96 });
    // scale = 92/96 source pixels per crop pixel; crop is vertically centred
    const s = 92 / 96, top = -0.5 + (112 - 112 * s) / 2;
    for (const [i, j] of [[10, 10], [48, 56], [90, 100]]) {
      expect(Math.abs(out.data[(j * 96 + i) * 3] - rampValue(-0.5 + (i + 0.5) * s, top + (j + 0.5) * s, 0))).toBeLessThanOrEqual(1);
    }
  });
});
