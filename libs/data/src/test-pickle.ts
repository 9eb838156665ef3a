// Test helper (not exported): insightface verification `.bin` fixtures, byte for byte as the real writers make them.
// Python 2 cannot run in CI, so its output is generated here (checked against CPython 2.7.18 output in
// verification-bin.test.ts); Python 3 pickles are made by Debian's /usr/bin/python3 itself.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Which Python 2.7 pickler wrote the file. insightface's lfw2pack.py does `import pickle` and
 * `pickle.dump((lfw_bins, issame_list), f, protocol=pickle.HIGHEST_PROTOCOL)`: under Python 2 that is the pure-Python
 * Lib/pickle.py ('pickle'). 'cPickle' is Modules/cPickle.c as called with a literal tuple the same way.
 */
export type Python2Pickler = 'pickle' | 'cPickle';

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/**
 * What Python 2.7 writes for `pickle.dump((images, same), f, 2)` with `images` a list of `str` (one JS object per
 * Python object: the same Uint8Array twice is the same str twice, and is written as a memo get) and `same` a list of
 * bools. The sequence, from Lib/pickle.py 2.7 (dump, save, save_tuple, save_list, _batch_appends, save_string,
 * save_bool, memoize, put, get):
 *   PROTO 2; per list: EMPTY_LIST, memoize, then batches of ≤ 1000 items (MARK items APPENDS for ≥ 2, item APPEND
 *   for 1); a str: SHORT_BINSTRING (len < 256) or BINSTRING (i32 len), then memoize; a str seen before: BINGET;
 *   a bool: NEWTRUE/NEWFALSE (not memoized); TUPLE2, memoize; STOP. memoize writes BINPUT i (i < 256) or
 *   LONG_BINPUT (i32), i = the memo's size.
 * cPickle differs in three ways (Modules/cPickle.c 2.7): memo indices start at 1 (put2's `p++`); a str shorter than
 * 2 bytes is never memoized nor looked up; put() skips objects with refcount < 2, which leaves the literal outer
 * tuple of a `cPickle.dump((a, b), f, 2)` call unmemoized (lists are put2, always memoized).
 */
export function python2VerificationPickle(
  images: readonly Uint8Array[],
  same: readonly boolean[],
  pickler: Python2Pickler = 'pickle',
): Uint8Array {
  const out: number[] = [];
  const chunks: Uint8Array[] = [];
  const flush = () => {
    if (out.length) chunks.push(Uint8Array.from(out.splice(0)));
  };
  const memo = new Map<object, number>();
  const base = pickler === 'cPickle' ? 1 : 0;
  const memoize = (obj: object) => {
    const i = memo.size + base;
    memo.set(obj, i);
    out.push(...(i < 256 ? [0x71, i] : [0x72, ...le32(i)])); // BINPUT / LONG_BINPUT
  };
  const saveStr = (s: Uint8Array) => {
    const small = pickler === 'cPickle' && s.length < 2;
    const seen = small ? undefined : memo.get(s);
    if (seen !== undefined) {
      out.push(...(seen < 256 ? [0x68, seen] : [0x6a, ...le32(seen)])); // BINGET / LONG_BINGET
      return;
    }
    out.push(...(s.length < 256 ? [0x55, s.length] : [0x54, ...le32(s.length)])); // SHORT_BINSTRING / BINSTRING
    flush();
    chunks.push(s);
    if (!small) memoize(s);
  };
  const saveBool = (b: boolean) => out.push(b ? 0x88 : 0x89); // NEWTRUE / NEWFALSE
  const saveList = <T>(list: readonly T[], save: (x: T) => void) => {
    if (pickler === 'cPickle' && list.length === 0) throw new Error('cPickle memoizes an empty list by refcount: not modelled');
    out.push(0x5d); // EMPTY_LIST
    memoize(list);
    for (let i = 0; i < list.length; i += 1000) {
      const batch = list.slice(i, i + 1000);
      if (batch.length > 1) {
        out.push(0x28); // MARK
        batch.forEach(save);
        out.push(0x65); // APPENDS
      } else {
        save(batch[0]);
        out.push(0x61); // APPEND
      }
    }
  };
  out.push(0x80, 2); // PROTO 2
  saveList(images, saveStr);
  saveList(same, saveBool);
  out.push(0x86); // TUPLE2
  if (pickler === 'pickle') memoize([images, same]);
  out.push(0x2e); // STOP
  flush();
  return Buffer.concat(chunks);
}

/** Hand-assembled pickle pieces for malformed files. */
export const op = {
  proto: (p: number) => [0x80, p],
  mark: [0x28],
  stop: [0x2e],
  emptyList: [0x5d],
  emptyDict: [0x7d],
  append: [0x61],
  appends: [0x65],
  tuple1: [0x85],
  tuple2: [0x86],
  tuple3: [0x87],
  newTrue: [0x88],
  newFalse: [0x89],
  reduce: [0x52],
  binint1: (n: number) => [0x4b, n],
  shortBinstring: (b: ArrayLike<number>) => [0x55, b.length, ...Array.from(b)],
  shortBinbytes: (b: ArrayLike<number>) => [0x43, b.length, ...Array.from(b)],
  binunicode: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return [0x58, ...le32(b.length), ...b];
  },
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')],
};

export function pickleOps(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/** Debian's python3 (a dependency of the jupyter packages in scripts/debian-packages.txt); SPHEREFACE_PYTHON3 overrides. */
export const PYTHON3 = process.env.SPHEREFACE_PYTHON3 ?? '/usr/bin/python3';

export function havePython3(): boolean {
  return existsSync(PYTHON3);
}

/**
 * `pickle.dump((bins, issame), f, protocol=p)` run by a real CPython for each protocol, with `bins` a list of `bytes`
 * (`str` under Python 2; the same Uint8Array twice is the same object twice) and `issame` a list of bools.
 * `module` names the pickler ('pickle', or 'cPickle' under Python 2). Returns the path per protocol
 * (`<tmp>/p<protocol>/<stem>.bin`).
 */
export function pythonVerificationPickles(
  python: string,
  images: readonly Uint8Array[],
  same: readonly boolean[],
  opts: { protocols: readonly number[]; module?: 'pickle' | 'cPickle'; stem?: string },
): Map<number, string> {
  const { protocols, module = 'pickle', stem = 'set' } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'sf-vbin-py-'));
  // Input: u32 image count, u32 flag count; per image u32 length + bytes, or 0xffffffff + u32 index of the earlier
  // image that is the same object; one byte per flag.
  const first = new Map<Uint8Array, number>();
  const parts: Uint8Array[] = [Uint8Array.from([...le32(images.length), ...le32(same.length)])];
  images.forEach((img, i) => {
    const earlier = first.get(img);
    if (earlier !== undefined) parts.push(Uint8Array.from([...le32(0xffffffff), ...le32(earlier)]));
    else {
      first.set(img, i);
      parts.push(Uint8Array.from(le32(img.length)), img);
    }
  });
  parts.push(Uint8Array.from(same.map(Number)));
  const input = join(dir, 'input.raw');
  writeFileSync(input, Buffer.concat(parts));
  // Runs under Python 2.7 and 3.
  const script = `
import struct, sys
data = open(sys.argv[1], 'rb').read()
n_img, n_flag = struct.unpack_from('<II', data, 0)
pos = 8
bins = []
for _ in range(n_img):
    (n,) = struct.unpack_from('<I', data, pos)
    pos += 4
    if n == 0xffffffff:
        (k,) = struct.unpack_from('<I', data, pos)
        pos += 4
        bins.append(bins[k])
    else:
        bins.append(data[pos:pos + n])
        pos += n
issame = [x == 1 for x in bytearray(data[pos:pos + n_flag])]
assert pos + n_flag == len(data) and all(type(b) is bytes for b in bins)
pickler = __import__(sys.argv[3])
for p in sys.argv[4:]:
    with open('%s/p%s/%s' % (sys.argv[2], p, ${JSON.stringify(stem + '.bin')}), 'wb') as f:
        pickler.dump((bins, issame), f, int(p))
`;
  for (const p of protocols) mkdirSync(join(dir, `p${p}`));
  execFileSync(python, ['-c', script, input, dir, module, ...protocols.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Map(protocols.map((p) => [p, join(dir, `p${p}`, `${stem}.bin`)]));
}
