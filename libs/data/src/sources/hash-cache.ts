import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256Hex, writeFileAtomic } from '@sphereface/common';
import { cacheDir } from '../paths';
import type { InsightfaceRecordIo } from '../recordio';
import type { ZipReader } from './zip';

/** What hashing a tree or zip found, and how much of it came from the cache. */
export interface HashReport {
  /** rel (tree) or entry name (zip) → sha256 of its bytes. */
  sha256: Map<string, string>;
  /** Files (entries) hashed now. */
  hashed: number;
  /** Files whose path, size and mtime matched the cache: only stat-ed. */
  fromCache: number;
  cacheFile: string;
}

interface CacheFile {
  root: string;
  /** Tree: rel → { size, mtimeMs, sha256 }; zip: the zip's own size and mtime, entry → sha256. */
  files?: Record<string, { size: number; mtimeMs: number; sha256: string }>;
  zip?: { size: number; mtimeMs: number; entries: Record<string, string> };
  /** RecordIO: the .rec's size and mtime, record key → sha256 of its encoded image. */
  recordio?: { size: number; mtimeMs: number; keys: Record<string, string> };
}

/** Where the hashes of a tree or zip at `path` are cached: <repo>/.cache/sphereface-data/source-hashes/<sha256(abs path)[:16]>.json. */
export function hashCacheFile(path: string): string {
  return cacheDir('source-hashes', `${sha256Hex(resolve(path)).slice(0, 16)}.json`);
}

function readCache(file: string, root: string): CacheFile {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (c.root === root) return c;
  } catch {
    // absent or unreadable: start again
  }
  return { root };
}

/**
 * sha256 of the given files of a tree without a MANIFEST.sha256, hashed once: each file's (path, size, mtime)
 * and hash are cached outside the data, so a later call only stats the files whose size and mtime are unchanged.
 */
export function hashTreeFiles(root: string, rels: readonly string[], opts: { cacheFile?: string } = {}): HashReport {
  const abs = resolve(root);
  const cacheFile = opts.cacheFile ?? hashCacheFile(abs);
  const old = readCache(cacheFile, abs).files ?? {};
  // Entries for files not asked for this time are kept (another filter may ask for them later).
  const files: NonNullable<CacheFile['files']> = { ...old };
  const sha256 = new Map<string, string>();
  let hashed = 0, fromCache = 0;
  for (const rel of rels) {
    const st = statSync(resolve(abs, rel));
    const c = old[rel];
    if (c && c.size === st.size && c.mtimeMs === st.mtimeMs) {
      fromCache++;
      files[rel] = c;
    } else {
      hashed++;
      files[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256Hex(readFileSync(resolve(abs, rel))) };
    }
    sha256.set(rel, files[rel].sha256);
  }
  if (hashed > 0) writeCache(cacheFile, { root: abs, files });
  return { sha256, hashed, fromCache, cacheFile };
}

/**
 * sha256 of the given entries of a zip (of each entry's uncompressed bytes), hashed once: cached by the zip's path,
 * size and mtime, so a later call on an unchanged zip only stats it.
 */
export function hashZipEntries(zip: ZipReader, names: readonly string[], opts: { cacheFile?: string } = {}): HashReport {
  const abs = resolve(zip.path);
  const cacheFile = opts.cacheFile ?? hashCacheFile(abs);
  const st = statSync(abs);
  const c = readCache(cacheFile, abs).zip;
  const same = c !== undefined && c.size === st.size && c.mtimeMs === st.mtimeMs;
  const entries: Record<string, string> = same ? { ...c.entries } : {};
  const sha256 = new Map<string, string>();
  let hashed = 0, fromCache = 0;
  for (const n of names) {
    if (entries[n] !== undefined) fromCache++;
    else {
      hashed++;
      entries[n] = sha256Hex(zip.read(n));
    }
    sha256.set(n, entries[n]);
  }
  if (hashed > 0) writeCache(cacheFile, { root: abs, zip: { size: st.size, mtimeMs: st.mtimeMs, entries } });
  return { sha256, hashed, fromCache, cacheFile };
}

/**
 * sha256 of the encoded image of the given records of a RecordIO set, hashed once: cached by the .rec's path, size and
 * mtime, so a later call on an unchanged file only stats it. Keys are returned as strings.
 */
export function hashRecordIoImages(set: InsightfaceRecordIo, keys: readonly number[], opts: { cacheFile?: string } = {}): HashReport {
  const abs = resolve(set.file.recPath);
  const cacheFile = opts.cacheFile ?? hashCacheFile(abs);
  const st = statSync(abs);
  const c = readCache(cacheFile, abs).recordio;
  const same = c !== undefined && c.size === st.size && c.mtimeMs === st.mtimeMs;
  const known: Record<string, string> = same ? { ...c.keys } : {};
  const sha256 = new Map<string, string>();
  let hashed = 0, fromCache = 0;
  for (const key of keys) {
    const k = String(key);
    if (known[k] !== undefined) fromCache++;
    else {
      hashed++;
      known[k] = sha256Hex(set.readKey(key).image);
    }
    sha256.set(k, known[k]);
  }
  if (hashed > 0) writeCache(cacheFile, { root: abs, recordio: { size: st.size, mtimeMs: st.mtimeMs, keys: known } });
  return { sha256, hashed, fromCache, cacheFile };
}

function writeCache(file: string, c: CacheFile): void {
  writeFileAtomic(file, JSON.stringify(c));
}
