import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { DataError } from './errors';
import type { Image } from './image';

/**
 * The reference decoders. JPEG decoders disagree by up to 127 per pixel (chroma upsampling,
 * IDCT), so one pinned decoder defines the pixels; this id is part of every cache key.
 */
export const DECODER_ID = 'jpeg-js@0.4.4(strict,rgb)+pgm-p5';

/** Decode a baseline/progressive JPEG to RGB with jpeg-js, strict mode (no tolerated gaps). */
export function decodeJpeg(bytes: Uint8Array, file: string): Image {
  try {
    const r = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    return { width: r.width, height: r.height, channels: 3, data: r.data };
  } catch (e) {
    throw new DataError(`corrupt JPEG: ${(e as Error).message}`, file);
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
export function decodeImageBytes(bytes: Uint8Array, path: string): Image {
  if (bytes[0] === 0x50 && bytes[1] === 0x35) return decodePgm(bytes, path);
  return decodeJpeg(bytes, path);
}

/** Decode by file signature (JPEG SOI or PGM "P5"); a missing file is a DataError naming it. */
export function decodeImageFile(path: string): Image {
  return decodeImageBytes(readImageFile(path), path);
}
