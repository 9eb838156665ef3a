import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors';
import { writeFileAtomic } from '@sphereface/common';
import { sha256Hex } from '@sphereface/common';
import { cacheDir } from './paths';

export const MANIFEST_NAME = 'MANIFEST.sha256';

/** path (relative to the dataset folder) -> sha256 hex, from a `sha256sum` format manifest. */
export function readManifest(datasetDir: string): Map<string, string> {
  const file = join(datasetDir, MANIFEST_NAME);
  const out = new Map<string, string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text === '') return;
      const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(text);
      if (!m) throw new DataError(`not a sha256sum line: ${JSON.stringify(text.slice(0, 80))}`, file, i + 1);
      out.set(m[2], m[1]);
    });
  return out;
}

export interface ManifestProblem {
  file: string;
  problem: 'missing' | 'sha256 mismatch';
  expected: string;
  actual?: string;
}

export interface ManifestReport {
  datasetDir: string;
  files: number;
  /** Files whose size and mtime matched a previous successful check, so they were not re-hashed. */
  fromCache: number;
  problems: ManifestProblem[];
  ok: boolean;
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

function hashFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Check every file listed in the dataset's MANIFEST.sha256. A file whose size and mtime
 * equal those recorded at its last successful check is trusted without re-hashing; any
 * change of size or mtime (or a changed manifest line) makes it hashed again.
 * The record lives under the repo's .cache/ (or `cacheFile`), never in the data folder.
 */
export function verifyManifest(datasetDir: string, opts: { cacheFile?: string } = {}): ManifestReport {
  const cacheFile = opts.cacheFile ?? cacheDir('manifest', `${sha256Hex(datasetDir).slice(0, 16)}.json`);
  const previous: Record<string, CacheEntry> = existsSync(cacheFile) ? readCache(cacheFile) : {};
  const next: Record<string, CacheEntry> = {};
  const problems: ManifestProblem[] = [];
  let fromCache = 0;
  const manifest = readManifest(datasetDir);
  for (const [rel, expected] of manifest) {
    const path = join(datasetDir, rel);
    let st;
    try {
      st = statSync(path);
    } catch {
      problems.push({ file: rel, problem: 'missing', expected });
      continue;
    }
    const prev = previous[rel];
    if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.sha256 === expected) {
      fromCache++;
      next[rel] = prev;
      continue;
    }
    const actual = hashFile(path);
    if (actual === expected) next[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256: actual };
    else problems.push({ file: rel, problem: 'sha256 mismatch', expected, actual });
  }
  writeFileAtomic(cacheFile, JSON.stringify(next));
  return { datasetDir, files: manifest.size, fromCache, problems, ok: problems.length === 0 };
}

function readCache(file: string): Record<string, CacheEntry> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {}; // an unreadable record only costs a full re-hash
  }
}

/** Throws one error listing every problem (at most 20 shown) when the check failed. */
export function assertManifestOk(report: ManifestReport): void {
  if (report.ok) return;
  const shown = report.problems.slice(0, 20).map((p) => `  ${p.file}: ${p.problem}`);
  const more = report.problems.length > 20 ? [`  ... and ${report.problems.length - 20} more`] : [];
  throw new Error(
    [`${join(report.datasetDir, MANIFEST_NAME)}: ${report.problems.length} of ${report.files} files fail`, ...shown, ...more].join('\n'),
  );
}
