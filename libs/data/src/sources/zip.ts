import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { DataError } from '../errors';

/** One file in a zip's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate; other methods are refused when the entry is read. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local file header. */
  localOffset: number;
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, EOCD64_LOCATOR = 0x07064b50, CEN = 0x02014b50, LOC = 0x04034b50;

/**
 * A .zip read in place, synchronously: the central directory is read once when it is opened (entry
 * names, sizes, offsets; zip64 included), and `read(name)` seeks to one entry and inflates it alone, checking
 * its CRC-32. Nothing is extracted. Stored and deflated entries are supported (what zip, Python's zipfile and
 * Windows write); encrypted entries and other methods are a DataError naming the entry.
 */
export class ZipReader {
  readonly entries: Map<string, ZipEntry>;
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.entries = this.readCentralDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private bytes(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd!, b, got, length - got, offset + got);
      if (n === 0) throw new DataError(`truncated zip: wanted ${length} bytes at offset ${offset}, the file ends first`, this.path);
      got += n;
    }
    return b;
  }

  private readCentralDirectory(): Map<string, ZipEntry> {
    const size = fstatSync(this.fd!).size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = this.bytes(size - tailLen, tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
    if (at < 0) throw new DataError('not a zip file (no end-of-central-directory record)', this.path);
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = at - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== EOCD64_LOCATOR) throw new DataError('zip64 sizes without a zip64 locator', this.path);
      const e64 = this.bytes(Number(tail.readBigUInt64LE(loc + 8)), 56);
      if (e64.readUInt32LE(0) !== EOCD64) throw new DataError('bad zip64 end-of-central-directory record', this.path);
      count = Number(e64.readBigUInt64LE(32));
      cdSize = Number(e64.readBigUInt64LE(40));
      cdOffset = Number(e64.readBigUInt64LE(48));
    }
    const cd = this.bytes(cdOffset, cdSize);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CEN) throw new DataError(`bad central directory entry ${k + 1} of ${count}`, this.path);
      const flags = cd.readUInt16LE(p + 8);
      const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
      const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
      let compressedSize = cd.readUInt32LE(p + 20), size = cd.readUInt32LE(p + 24), localOffset = cd.readUInt32LE(p + 42);
      // zip64 extra field: the 64-bit values, in this order, for those whose 32-bit field is 0xffffffff.
      for (let x = p + 46 + nameLen, end = x + extraLen; x + 4 <= end; x += 4 + cd.readUInt16LE(x + 2)) {
        if (cd.readUInt16LE(x) !== 1) continue;
        let y = x + 4;
        if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(y)); y += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(y)); y += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(cd.readBigUInt64LE(y)); y += 8; }
      }
      const method = flags & 1 ? -1 : cd.readUInt16LE(p + 10);
      entries.set(name, { name, method, crc32: cd.readUInt32LE(p + 16), compressedSize, size, localOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  }

  /** The bytes of one entry, by its full name in the zip. */
  read(name: string): Buffer {
    if (this.fd === null) throw new Error(`${this.path}: zip reader is closed`);
    const e = this.entries.get(name);
    const where = `${this.path}!/${name}`;
    if (!e) throw new DataError('no such entry in the zip', where);
    if (e.method === -1) throw new DataError('encrypted zip entry', where);
    const h = this.bytes(e.localOffset, 30);
    if (h.readUInt32LE(0) !== LOC) throw new DataError(`no local file header at offset ${e.localOffset}`, where);
    const start = e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    const raw = this.bytes(start, e.compressedSize);
    let data: Buffer;
    if (e.method === 0) data = raw;
    else if (e.method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw new DataError(`corrupt deflate data (${(err as Error).message})`, where);
      }
    } else throw new DataError(`unsupported compression method ${e.method} (only stored and deflate)`, where);
    if (data.length !== e.size) throw new DataError(`size ${data.length} after inflating, the central directory says ${e.size}`, where);
    if (crc32(data) >>> 0 !== e.crc32 >>> 0) throw new DataError('CRC-32 mismatch', where);
    return data;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
