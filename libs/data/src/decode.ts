import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decode as decodePngBytes } from 'fast-png';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import type { Image } from './image';

/**
 * The JPEG decoders a run can choose. JPEG decoders disagree (chroma upsampling, IDCT), so one pinned decoder
 * defines the pixels and its id is part of every cache key and view hash:
 * - 'jpeg-js' (the default): pure JavaScript, strict mode;
 * - 'libjpeg-turbo': libjpeg-turbo 2 compiled to WebAssembly (@cwasm/jpeg-turbo), with its defaults (accurate
 *   integer IDCT, fancy upsampling): the decoder behind PIL, OpenCV and torchvision, so what a PyTorch
 *   pipeline sees. On 150×150 LFW and CelebA images the two differ by about 1 per channel on average (up to 69 at
 *   single pixels); on aligned 56×48 CelebA crops by 0.94 on average.
 */
export const JPEG_DECODERS = ['jpeg-js', 'libjpeg-turbo'] as const;
export type JpegDecoder = (typeof JPEG_DECODERS)[number];
export const DEFAULT_JPEG_DECODER: JpegDecoder = 'jpeg-js';

const DECODER_IDS: Record<JpegDecoder, string> = {
  'jpeg-js': 'jpeg-js@0.4.4(strict,rgb)+pgm-p5',
  'libjpeg-turbo': '@cwasm/jpeg-turbo@0.1.3(tjDecompress2,rgba->rgb)+pgm-p5',
};

/** The id of the default decoder (kept as it was, so default cache keys and run IDs stay valid). */
export const DECODER_ID = DECODER_IDS[DEFAULT_JPEG_DECODER];

/** The id a decoder enters cache keys and view hashes with. */
export function decoderId(decoder: JpegDecoder = DEFAULT_JPEG_DECODER): string {
  const id = DECODER_IDS[decoder];
  if (!id) throw new Error(`unknown JPEG decoder '${String(decoder)}' (known: ${JPEG_DECODERS.join(', ')})`);
  return id;
}

// Loaded on first use: its WebAssembly module is compiled when required, which only runs that ask for it pay.
let turbo: { decode(bytes: Uint8Array): { width: number; height: number; data: Uint8ClampedArray } } | undefined;
const requireCjs = createRequire(import.meta.url);
const TURBO = '@cwasm/jpeg-turbo';

function decodeJpegTurbo(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  // libjpeg's fatal errors (not a JPEG, a broken header) throw out of the WebAssembly code without freeing what the call
  // allocated; after a few hundred, every later decode fails. So a failure drops the instance and the next call loads
  // a fresh one, and bytes without a JPEG start-of-image marker never reach it.
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('not a JPEG (no start-of-image marker)');
  turbo ??= requireCjs(TURBO) as NonNullable<typeof turbo>;
  let decoded;
  try {
    decoded = turbo.decode(bytes);
  } catch (e) {
    turbo = undefined;
    delete requireCjs.cache[requireCjs.resolve(TURBO)];
    const message = (e as Error).message;
    throw new Error(message === 'Not implemented' ? 'libjpeg reported a fatal error (a corrupt or unsupported JPEG)' : message);
  }
  const { width, height, data: rgba } = decoded;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = rgba[q];
    rgb[p + 1] = rgba[q + 1];
    rgb[p + 2] = rgba[q + 2];
  }
  return { width, height, data: rgb };
}

/** Decode a baseline/progressive JPEG to RGB with the chosen decoder (jpeg-js in strict mode: no tolerated gaps). */
export function decodeJpeg(bytes: Uint8Array, file: string, decoder: JpegDecoder = DEFAULT_JPEG_DECODER): Image {
  try {
    const r =
      decoder === 'libjpeg-turbo' ? decodeJpegTurbo(bytes) : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    return { width: r.width, height: r.height, channels: 3, data: r.data };
  } catch (e) {
    throw new DataError(`corrupt JPEG${decoder === DEFAULT_JPEG_DECODER ? '' : ` (${decoder})`}: ${(e as Error).message}`, file);
  }
}

/** Binary PGM (P5), maxval ≤ 255, comments allowed in the header. */
export function decodePgm(bytes: Uint8Array, file: string): Image {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]))) pos++;
      if (bytes[pos] !== 0x23) break; // '#': comment to end of line
      while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
    }
    const start = pos;
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]))) pos++;
    return Buffer.from(bytes.subarray(start, pos)).toString('latin1');
  };
  const magic = token();
  if (magic !== 'P5') throw new DataError(`not a binary PGM (magic ${JSON.stringify(magic)}, expected "P5")`, file);
  const [width, height, maxval] = [token(), token(), token()].map(Number);
  if (![width, height, maxval].every((v) => Number.isInteger(v) && v > 0)) {
    throw new DataError('corrupt PGM header', file);
  }
  if (maxval > 255) throw new DataError(`16-bit PGM (maxval ${maxval}) not supported`, file);
  pos++; // exactly one whitespace byte ends the header
  const need = width * height;
  if (bytes.length - pos < need) throw new DataError(`truncated PGM: ${bytes.length - pos} of ${need} pixel bytes`, file);
  const data = bytes.slice(pos, pos + need);
  if (maxval !== 255) for (let i = 0; i < need; i++) data[i] = Math.round((data[i] * 255) / maxval);
  return { width, height, channels: 1, data };
}

/** The bytes of an image file; a missing or unreadable file is a DataError naming it. */
export function readImageFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DataError(`missing image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decode a PNG (fast-png: lossless, so every decoder gives the same pixels) to RGB: grey is replicated, alpha dropped,
 * palettes expanded; 16-bit samples are rounded to 8 bits.
 */
export function decodePng(bytes: Uint8Array, file: string): Image {
  let png;
  try {
    png = decodePngBytes(bytes);
  } catch (e) {
    throw new DataError(`corrupt PNG: ${(e as Error).message}`, file);
  }
  const { width, height, channels, depth, palette } = png;
  const data = png.data as ArrayLike<number>;
  const rgb = new Uint8Array(width * height * 3);
  const scale = depth === 16 ? 1 / 257 : 1;
  if (palette) {
    // fast-png packs indices below 8 bits per sample; only byte indices are read here.
    if (depth !== 8) throw new DataError(`unsupported PNG (${depth}-bit palette)`, file);
    for (let i = 0; i < width * height; i++) {
      const entry = palette[data[i]];
      if (!entry) throw new DataError(`palette index ${data[i]} beyond the palette's ${palette.length} colours`, file);
      rgb.set(entry.slice(0, 3), i * 3);
    }
    return { width, height, channels: 3, data: rgb };
  }
  if (![1, 2, 3, 4].includes(channels) || ![8, 16].includes(depth)) throw new DataError(`unsupported PNG (${channels} channels, ${depth}-bit)`, file);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (channels >= 3 ? c : 0)];
      rgb[i * 3 + c] = Math.round(v * scale);
    }
  }
  return { width, height, channels: 3, data: rgb };
}

/** Decode image bytes by signature (PNG, PGM "P5", else JPEG); `path` names them in errors. */
export function decodeImageBytes(bytes: Uint8Array, path: string, decoder: JpegDecoder = DEFAULT_JPEG_DECODER): Image {
  if (bytes[0] === 0x50 && bytes[1] === 0x35) return decodePgm(bytes, path);
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return decodePng(bytes, path);
  return decodeJpeg(bytes, path, decoder);
}

/** Decode by file signature (JPEG SOI or PGM "P5"); a missing file is a DataError naming it. */
export function decodeImageFile(path: string): Image {
  return decodeImageBytes(readImageFile(path), path);
}
