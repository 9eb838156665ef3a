import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import type { Image } from './image';

/**
 * The JPEG decoders a run can choose. JPEG decoders disagree (chroma upsampling, IDCT), so one pinned decoder
 * defines the pixels and its id is part of every cache key and view hash:
 * - 'jpeg-js' (the default): pure JavaScript, strict mode;
 * - 'libjpeg-turbo': libjpeg-turbo 2 compiled to WebAssembly (@cwasm/jpeg-turbo), with its defaults (accurate
 *   integer IDCT, fancy upsampling): the decoder behind PIL, OpenCV and torchvision, so what a PyTorch
 *   pipeline sees. On the CelebA crops the two differ by 0.5 per channel on average, at most 10.
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

function decodeJpegTurbo(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  turbo ??= requireCjs('@cwasm/jpeg-turbo') as NonNullable<typeof turbo>;
  const { width, height, data: rgba } = turbo.decode(bytes);
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

/** Decode image bytes by signature (JPEG SOI or PGM "P5"); `path` names them in errors. */
export function decodeImageBytes(bytes: Uint8Array, path: string, decoder: JpegDecoder = DEFAULT_JPEG_DECODER): Image {
  if (bytes[0] === 0x50 && bytes[1] === 0x35) return decodePgm(bytes, path);
  return decodeJpeg(bytes, path, decoder);
}

/** Decode by file signature (JPEG SOI or PGM "P5"); a missing file is a DataError naming it. */
export function decodeImageFile(path: string): Image {
  return decodeImageBytes(readImageFile(path), path);
}
