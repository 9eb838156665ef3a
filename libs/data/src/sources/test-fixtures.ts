// Test helper (not exported): CASIA-style identity trees with tiny JPEGs, landmark files in the real formats, and zips.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import jpeg from 'jpeg-js';

export interface Fixture {
  /** Folder that holds the tree (`<dir>/<top>/<identity>/<image>`), so it can be zipped with its top folder. */
  dir: string;
  root: string;
  top: string;
  /** `<identity>/<image>` → SphereFace label (folder order) and 1-based landmark values as written. */
  images: { rel: string; label: number; values: number[] }[];
}

/** A w×h JPEG of a gradient that differs per `seed`. */
export function tinyJpeg(seed: number, w = 24, h = 28): Buffer {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    data[4 * i] = (i * 7 + seed * 31) & 255;
    data[4 * i + 1] = (i * 3 + seed * 17) & 255;
    data[4 * i + 2] = (seed * 53) & 255;
    data[4 * i + 3] = 255;
  }
  return Buffer.from(jpeg.encode({ width: w, height: h, data }, 80).data);
}

/**
 * `<dir>/CASIA-WebFace/<7-digit id>/<nnn>.jpg`: identities 0000045 (3 images), 0000099 (2), 0000100 (1), 0000157 (4),
 * labelled 0…3 in folder order like the SphereFace list. Landmark values are integers for even images and floats for odd ones.
 */
export function casiaFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'sf-sources-'));
  const top = 'CASIA-WebFace';
  const root = join(dir, top);
  const counts: [string, number][] = [['0000045', 3], ['0000099', 2], ['0000100', 1], ['0000157', 4]];
  const images: Fixture['images'] = [];
  let k = 0;
  counts.forEach(([id, n], label) => {
    mkdirSync(join(root, id), { recursive: true });
    for (let j = 1; j <= n; j++, k++) {
      const rel = `${id}/${String(j).padStart(3, '0')}.jpg`;
      writeFileSync(join(root, rel), tinyJpeg(k));
      const base = [8, 11, 16, 11, 12, 15, 9, 20, 15, 20];
      const values = base.map((v, i) => (k % 2 === 0 ? v + (i % 2) : v + 0.25 + k / 8));
      images.push({ rel, label, values });
    }
  });
  return { dir, root, top, images };
}

/** The SphereFace/PyTorch-port format: `CASIA-WebFace/<rel>\t<label>\tx1\ty1 … x5\ty5` per line. */
export function sphereFaceLines(f: Fixture, prefix = `${f.top}/`): string[] {
  return f.images.map((im) => [`${prefix}${im.rel}`, String(im.label), ...im.values.map(String)].join('\t'));
}

/** The project's format: `<rel>\tx1\ty1 … x5\ty5`. */
export function projectLines(f: Fixture): string[] {
  return f.images.map((im) => [im.rel, ...im.values.map(String)].join('\t'));
}

/**
 * A zip of the given entries (name → bytes), written as the APPNOTE describes: a local file header and the data per
 * entry, then the central directory and the end-of-central-directory record (no data descriptors, no zip64).
 * `method` 0 stores, 8 deflates (zlib's raw deflate, as zip and Python's zipfile write it).
 */
export function writeZip(path: string, entries: [string, Buffer][], method: 0 | 8 = 8): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const DOS_TIME = 0x6000, DOS_DATE = 0x5b7e; // 12:00:00, 2025-11-30
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data) >>> 0;
    // The local header and the central-directory entry share these fields, in this order (version needed to
    // extract … file name length); the central entry has "version made by" before them, so they sit 2 bytes later.
    const shared = (header: Buffer, at: number) => {
      header.writeUInt16LE(20, at);
      header.writeUInt16LE(0x800, at + 2);
      header.writeUInt16LE(method, at + 4);
      header.writeUInt16LE(DOS_TIME, at + 6);
      header.writeUInt16LE(DOS_DATE, at + 8);
      header.writeUInt32LE(crc, at + 10);
      header.writeUInt32LE(body.length, at + 14);
      header.writeUInt32LE(data.length, at + 18);
      header.writeUInt16LE(nameBuf.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    shared(local, 4);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4);
    shared(cen, 6);
    cen.writeUInt32LE(offset, 42);
    central.push(cen, nameBuf);
    parts.push(local, nameBuf, body);
    offset += 30 + nameBuf.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...parts, cd, end]));
}
