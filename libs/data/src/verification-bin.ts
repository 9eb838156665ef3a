// insightface verification sets (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, `calfw.bin`, `cplfw.bin`): a pickled
// 2-tuple (bins, issame_list) of 2N encoded images and N same/different flags; pair i is images 2i and 2i+1.
// See ../../../shared/reference/data-formats.md §2–§3 (the reference kept beside the repository).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { BufferReader, Parser } from 'pickleparser';
import { DataError } from './errors';

export interface VerificationBin {
  /** The file stem, e.g. 'lfw', 'cfp_fp', 'agedb_30'. */
  readonly name: string;
  readonly path: string;
  /** 2 × pairs encoded images (JPEG/PNG bytes as stored), each a fresh Uint8Array. */
  readonly images: Uint8Array[];
  /** Per pair: true when images 2i and 2i+1 show the same person. */
  readonly same: boolean[];
  readonly pairs: number;
  /** The pickle protocol of the file (its PROTO opcode), 2–5. */
  readonly protocol: number;
  /**
   * Who wrote it, told by how the images are stored: 'python2' when they are Python 2 `str`
   * (SHORT_BINSTRING/BINSTRING, insightface's lfw2pack.py under Python 2), 'python3' when they are `bytes`
   * (BINBYTES at protocol ≥ 3, `_codecs.encode(text, 'latin1')` at protocol 2).
   */
  readonly writer: 'python2' | 'python3';
  /** sha256 (hex) of the file's bytes, hashed as they were read: the content hash of this data view. */
  readonly sha256: string;
}

const CHUNK = 1 << 20;

/** sha256 (hex) of a file, read in 1 MiB chunks (the file is never held in memory whole). */
export function verificationBinHash(path: string): string {
  const hash = createHash('sha256');
  const fd = openFile(path);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Read an insightface verification `.bin`: pickle protocol 2 as Python 2 wrote it (images as `str`) or protocol
 * 2–5 as Python 3 writes it (images as `bytes`), with the flags as bools. Every problem is a DataError naming the
 * file: not a pickle (or protocol 0/1), a corrupt or truncated pickle, a structure other than (list of 2N images,
 * list of N bools), an image that is not bytes, a GLOBAL other than those Python 3 uses to write bytes at
 * protocol 2 (numpy arrays, e.g. cv2.imencode output, are rejected: unverified, see data-formats.md §2).
 * pickleparser builds tuples and lists alike as arrays, so a 2-item list passes as the outer tuple (as it does for
 * insightface's `bins, issame_list = pickle.load(f)`); bytes after STOP are ignored, as pickle.load ignores them.
 */
export function readVerificationBin(path: string): VerificationBin {
  const { bytes, sha256 } = readHashed(path);
  const protocol = pickleProtocol(bytes, path);

  const reader = new RawStringReader(bytes);
  const parser = new Parser({
    nameResolver: { resolve: (module, name) => allowedGlobal(module, name, path) },
  });
  let top: unknown;
  try {
    top = parser.read(reader);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`corrupt pickle: ${(e as Error).message}`, path);
  }

  if (!Array.isArray(top) || top.length !== 2) {
    throw new DataError(`expected a 2-tuple (images, issame_list), found ${describe(top)}`, path);
  }
  const [bins, issame] = top as unknown[];
  if (!Array.isArray(bins)) throw new DataError(`the tuple's first item (images) is ${describe(bins)}, expected a list`, path);
  if (!Array.isArray(issame)) throw new DataError(`the tuple's second item (issame_list) is ${describe(issame)}, expected a list`, path);
  if (bins.length !== 2 * issame.length) {
    throw new DataError(
      `${bins.length} images for ${issame.length} flags: expected 2 × ${issame.length} = ${2 * issame.length} (pair i is images 2i and 2i+1)`,
      path,
    );
  }
  if (issame.length === 0) throw new DataError('no pairs (empty image and flag lists)', path);

  // Array.from reads every index (a hole is undefined, and rejected); map would skip holes.
  const same = Array.from(issame as unknown[], (v, i) => {
    if (typeof v !== 'boolean') throw new DataError(`issame_list[${i}] is ${describe(v)}, expected a bool`, path);
    return v;
  });
  let py2 = 0;
  const images = Array.from(bins as unknown[], (v, i) => {
    if (!isUint8Array(v)) throw new DataError(`image ${i} is ${describe(v)}, expected bytes (an encoded image)`, path);
    if (reader.py2Strings.has(v)) py2++;
    // A copy through the typed-array constructor reads only the array's internal slots: the result is a plain
    // Uint8Array whatever the pickle did to the object, and it does not keep the whole file alive.
    return new Uint8Array(v);
  });
  if (py2 !== 0 && py2 !== images.length) {
    throw new DataError(
      `${py2} images are Python 2 str and ${images.length - py2} are Python 3 bytes: no insightface writer mixes them`,
      path,
    );
  }
  return {
    name: basename(path, extname(path)),
    path,
    images,
    same,
    pairs: same.length,
    protocol,
    writer: py2 ? 'python2' : 'python3',
    sha256,
  };
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new DataError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
}

/** The whole file, hashed chunk by chunk as it is read: the hash names exactly the bytes parsed. */
function readHashed(path: string): { bytes: Buffer; sha256: string } {
  const fd = openFile(path);
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    const hash = createHash('sha256');
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, Math.min(CHUNK, size - off), off);
      if (n === 0) throw new DataError(`file shrank while being read (${off} of ${size} bytes)`, path);
      hash.update(bytes.subarray(off, off + n));
      off += n;
    }
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** The protocol named by the leading PROTO opcode; protocols 0 and 1 have none (and are not what insightface wrote). */
function pickleProtocol(bytes: Uint8Array, path: string): number {
  if (bytes.length === 0) throw new DataError('not a pickle: empty file', path);
  if (bytes[0] === 0x80 && bytes.length >= 2) {
    if (bytes[1] >= 2 && bytes[1] <= 5) return bytes[1];
    throw new DataError(`pickle protocol ${bytes[1]} is not supported (2–5 are read)`, path);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DataError(
    `not a pickle of protocol 2–5: starts with ${head}, expected 80 02…80 05 (insightface's .bin files are pickled ` +
      'with HIGHEST_PROTOCOL; protocol 0/1 pickles are not read)',
    path,
  );
}

type Encoding = Parameters<BufferReader['string']>[1];

/**
 * pickleparser 0.2.1 decodes SHORT_BINSTRING/BINSTRING (a Python 2 `str`) with `reader.string(n, 'ascii')`, i.e.
 * TextDecoder('ascii'), which is windows-1252: JPEG bytes ≥ 0x80 would come back as other characters. Python's
 * own answer for such files is `pickle.load(f, encoding='bytes')`: keep a Python 2 str as raw bytes. This reader
 * does that: 'ascii' strings come back as the raw bytes (a view of the file, copied out by the caller), and are
 * remembered so the caller can tell Python 2 `str` from Python 3 `bytes`. BINUNICODE (real text) stays UTF-8.
 * line() (GLOBAL/INST names, protocol-0 opcodes) no longer goes through string(), so it decodes its bytes itself.
 */
class RawStringReader extends BufferReader {
  readonly py2Strings = new WeakSet<object>();

  override string(size: number, encoding: Encoding): string {
    if (encoding === 'utf-8') return super.string(size, encoding);
    const raw = this.bytes(size);
    this.py2Strings.add(raw);
    return raw as unknown as string;
  }

  override line(): string {
    const codes: number[] = [];
    for (let b = this.byte(); b !== 0x0a; b = this.byte()) codes.push(b);
    return Buffer.from(codes).toString('latin1');
  }
}

/**
 * `_codecs.encode(text, 'latin1')`: how Python 3 pickles `bytes` at protocol 2 (`bytes.__reduce_ex__(2)`; the text
 * holds one code point 0–255 per byte, stored as UTF-8 in BINUNICODE). pickleparser has no built-in for it, so this
 * one function is registered. An arrow function: NEWOBJ/OBJ cannot construct it.
 */
const codecsEncode = (text: unknown, encoding: unknown, ...rest: unknown[]): Uint8Array => {
  if (typeof text !== 'string' || encoding !== 'latin1' || rest.length) {
    throw new Error(`_codecs.encode called with (${[text, encoding, ...rest].map(describe).join(', ')}), expected (str, 'latin1')`);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new Error(`_codecs.encode: character U+${c.toString(16).padStart(4, '0')} at ${i} is not latin-1`);
    out[i] = c;
  }
  return out;
};

/** `bytes()`: how Python 3 pickles an empty `bytes` at protocol 2 (REDUCE with no arguments). */
const emptyBytes = (...args: unknown[]): Uint8Array => {
  if (args.length) throw new Error(`bytes called with ${args.length} argument(s); only bytes() (empty) is allowed`);
  return new Uint8Array(0);
};

/** The only globals these files need (Python 3 bytes at protocol 2); the names Python 3 writes with fix_imports. */
const ALLOWED_GLOBALS = new Map<string, (...args: unknown[]) => Uint8Array>([
  ['_codecs.encode', codecsEncode],
  ['__builtin__.bytes', emptyBytes],
  ['builtins.bytes', emptyBytes],
]);

function allowedGlobal(module: unknown, name: unknown, path: string): (...args: unknown[]) => Uint8Array {
  const fn = typeof module === 'string' && typeof name === 'string' ? ALLOWED_GLOBALS.get(`${module}.${name}`) : undefined;
  if (fn) return fn;
  const what = `${String(module)}.${String(name)}`;
  const numpy = /^numpy(\.|$)/.test(String(module))
    ? ': a numpy array, e.g. cv2.imencode output appended by build_eval_pack.py (such packs are not read; store bytes, arr.tobytes())'
    : '';
  throw new DataError(
    `unknown global ${what} in the pickle${numpy}; only ${[...ALLOWED_GLOBALS.keys()].join(', ')} (Python 3 bytes at protocol 2) are allowed`,
    path,
  );
}

/** A real Uint8Array (or Buffer), by the %TypedArray% brand: a pickle cannot fake it by re-prototyping an object. */
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: unknown) => string | undefined;
function isUint8Array(v: unknown): v is Uint8Array {
  return typedArrayTag.call(v) === 'Uint8Array';
}

/** A Python-side description of an unpickled value, for messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return `a bool (${v ? 'True' : 'False'})`;
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${String(v)})`;
  if (typeof v === 'string') return `a str (text, ${v.length} characters)`;
  if (isUint8Array(v)) return `bytes (${v.length})`;
  if (Array.isArray(v)) return `a tuple or list of ${v.length}`;
  if (typeof v === 'function') return 'a global';
  return 'a dict or object';
}
