import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors';
import { writeFileAtomic } from '@sphereface/common';
import { sha256Hex } from '@sphereface/common';
import { cacheDir } from './paths';

export const MANIFEST_NAME = 'MANIFEST.sha256';

/** One line of a manifest: the file's sha256 and the 1-based line that lists it. */
export interface ManifestEntry {
  sha256: string;
  line: number;
}

/** path (relative to the dataset folder) -> sha256 and line, from a `sha256sum` format manifest. */
export function readManifestEntries(datasetDir: string): Map<string, ManifestEntry> {
  const file = join(datasetDir, MANIFEST_NAME);
  const out = new Map<string, ManifestEntry>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text === '') return;
      const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(text);
      if (!m) throw new DataError(`not a sha256sum line: ${JSON.stringify(text.slice(0, 80))}`, file, i + 1);
      out.set(m[2], { sha256: m[1], line: i + 1 });
    });
  return out;
}

/** path (relative to the dataset folder) -> sha256 hex, from a `sha256sum` format manifest. */
export function readManifest(datasetDir: string): Map<string, string> {
  return new Map([...readManifestEntries(datasetDir)].map(([rel, e]) => [rel, e.sha256]));
}

export interface ManifestProblem {
  /** Path relative to the dataset folder. */
  file: string;
  problem: 'missing' | 'sha256 mismatch' | 'not listed';
  /** The manifest's sha256 and its line (absent for 'not listed'). */
  expected?: string;
  line?: number;
  /** What the file holds, for 'sha256 mismatch'. */
  actual?: string;
  size?: number;
}

export interface ManifestReport {
  datasetDir: string;
  /** Files checked: the whole manifest, or the files asked for. */
  files: number;
  /** Files whose size, mtime and ctime matched a previous successful check, so they were not re-hashed. */
  fromCache: number;
  /** Files read and hashed in this check. */
  hashed: number;
  problems: ManifestProblem[];
  ok: boolean;
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

function hashFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The verification record of one dataset folder inside a cache folder (default <repo>/.cache/sphereface-data/manifest). */
export function manifestCacheFile(datasetDir: string, folder?: string): string {
  const name = `${sha256Hex(datasetDir).slice(0, 16)}.json`;
  return folder === undefined ? cacheDir('manifest', name) : join(folder, name);
}

export interface VerifyOptions {
  /** The verification record; default manifestCacheFile(datasetDir). */
  cacheFile?: string;
  /** Check only these files (paths relative to the dataset folder), each of which must be listed; default every listed file. */
  files?: Iterable<string>;
  /** The manifest, when the caller has already read it. */
  manifest?: Map<string, ManifestEntry>;
}

/**
 * Check files against the dataset's MANIFEST.sha256: every listed file, or the `files` asked for (which
 * must all be listed). A file whose size, mtime and ctime equal those recorded at its last successful
 * check (and whose manifest line is unchanged) is trusted without re-hashing, so a repeated check costs
 * one stat() per file; anything else is hashed again. (ctime cannot be set back by a program, so an
 * edit followed by restoring the mtime is caught too.) The record lives under the repo's .cache/ (or
 * `cacheFile`), never in the data folder; a subset check keeps the record of the other files.
 */
export function verifyManifest(datasetDir: string, opts: VerifyOptions = {}): ManifestReport {
  const cacheFile = opts.cacheFile ?? manifestCacheFile(datasetDir);
  const previous: Record<string, CacheEntry> = existsSync(cacheFile) ? readCache(cacheFile) : {};
  const manifest = opts.manifest ?? readManifestEntries(datasetDir);
  const targets = opts.files === undefined ? [...manifest.keys()] : [...new Set(opts.files)];
  const next: Record<string, CacheEntry> = opts.files === undefined ? {} : { ...previous };
  const problems: ManifestProblem[] = [];
  let fromCache = 0;
  let hashed = 0;
  let changed = opts.files === undefined && Object.keys(previous).length !== manifest.size;
  for (const rel of targets) {
    const entry = manifest.get(rel);
    if (!entry) {
      problems.push({ file: rel, problem: 'not listed' });
      continue;
    }
    const path = join(datasetDir, rel);
    let st;
    try {
      st = statSync(path);
    } catch {
      problems.push({ file: rel, problem: 'missing', expected: entry.sha256, line: entry.line });
      changed ||= rel in next;
      delete next[rel];
      continue;
    }
    const prev = previous[rel];
    if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.ctimeMs === st.ctimeMs && prev.sha256 === entry.sha256) {
      fromCache++;
      next[rel] = prev;
      continue;
    }
    const actual = hashFile(path);
    hashed++;
    changed = true;
    if (actual === entry.sha256) next[rel] = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256: actual };
    else {
      delete next[rel];
      problems.push({ file: rel, problem: 'sha256 mismatch', expected: entry.sha256, line: entry.line, actual, size: st.size });
    }
  }
  if (changed) writeFileAtomic(cacheFile, JSON.stringify(next));
  return { datasetDir, files: targets.length, fromCache, hashed, problems, ok: problems.length === 0 };
}

function readCache(file: string): Record<string, CacheEntry> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {}; // an unreadable record only costs a full re-hash
  }
}

/** One line per problem: the file, what it holds, and the manifest line it fails. */
export function describeManifestProblem(datasetDir: string, p: ManifestProblem): string {
  const path = join(datasetDir, p.file);
  switch (p.problem) {
    case 'sha256 mismatch':
      return `${path}: size ${p.size} bytes, sha256 ${p.actual}; ${MANIFEST_NAME}:${p.line} says ${p.expected}`;
    case 'missing':
      return `${path}: missing; ${MANIFEST_NAME}:${p.line} lists it with sha256 ${p.expected}`;
    case 'not listed':
      return `${path}: not listed in ${join(datasetDir, MANIFEST_NAME)}, so it cannot be verified`;
  }
}

/** A dataset file that does not match its manifest: the data copy is damaged (never skipped under onBad 'skip'). */
export class ManifestError extends Error {
  constructor(readonly report: ManifestReport) {
    const shown = report.problems.slice(0, 20).map((p) => `  ${describeManifestProblem(report.datasetDir, p)}`);
    const more = report.problems.length > 20 ? [`  ... and ${report.problems.length - 20} more`] : [];
    super(
      [
        `${join(report.datasetDir, MANIFEST_NAME)}: ${report.problems.length} of ${report.files} checked files fail ` +
          `(restore them from the source named in the data README, or run libs/data/scripts/verify-data.ts)`,
        ...shown,
        ...more,
      ].join('\n'),
    );
    this.name = 'ManifestError';
  }
}

/** Throws one ManifestError listing every problem (at most 20 shown) when the check failed. */
export function assertManifestOk(report: ManifestReport): void {
  if (!report.ok) throw new ManifestError(report);
}

/**
 * Read a file of the dataset (a protocol, landmark or metadata file) and check the bytes read against
 * its manifest line before anyone parses them; a mismatch or an unlisted file is a ManifestError.
 */
export function readVerified(datasetDir: string, rel: string, manifest: Map<string, ManifestEntry>): Buffer {
  const entry = manifest.get(rel);
  const path = join(datasetDir, rel);
  const report = (problem: ManifestProblem): never => {
    throw new ManifestError({ datasetDir, files: 1, fromCache: 0, hashed: 1, problems: [problem], ok: false });
  };
  if (!entry) report({ file: rel, problem: 'not listed' });
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return report({ file: rel, problem: 'missing', expected: entry!.sha256, line: entry!.line });
  }
  const actual = sha256Hex(bytes);
  if (actual !== entry!.sha256) report({ file: rel, problem: 'sha256 mismatch', expected: entry!.sha256, line: entry!.line, actual, size: bytes.length });
  return bytes;
}
