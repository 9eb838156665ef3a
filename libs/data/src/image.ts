/** Interleaved 8-bit image, rows top to bottom, `channels` values per pixel (RGB when 3). */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** The SphereFace input scaling of an 8-bit value: (v − 127.5)/128, into [−0.996, 0.996]. */
export function normalisePixel(v: number): number {
  return (v - 127.5) / 128;
}
