import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@sphereface/common';

/** The code a run was made with: what `git` knows about the libraries and the experiment definitions. */
export interface CodeVersion {
  /** Git tree hashes of the code paths at HEAD (`git rev-parse HEAD:<path>`), joined, or null outside git. */
  treeHash: string | null;
  commit: string | null;
  /** True when the working tree differs from HEAD in those paths (changed or untracked files). */
  dirty: boolean;
  /** sha256 of the diff against HEAD plus the untracked files' contents; null when clean. */
  diffHash: string | null;
}

/** The paths whose content defines the code of a run. Records and notebooks are outputs, not code. */
export const CODE_PATHS = ['libs', 'experiments/src', 'package-lock.json'] as const;

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
}

export function codeVersion(root: string): CodeVersion {
  try {
    const commit = git(root, ['rev-parse', 'HEAD']).trim();
    const treeHash = CODE_PATHS.map((p) => git(root, ['rev-parse', `HEAD:${p}`]).trim()).join(':');
    const diff = git(root, ['diff', 'HEAD', '--binary', '--', ...CODE_PATHS]);
    const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', ...CODE_PATHS])
      .split('\0')
      .filter(Boolean)
      .sort();
    const dirty = diff.length > 0 || untracked.length > 0;
    const diffHash = dirty
      ? sha256Hex(diff + untracked.map((f) => `\0${f}\0${sha256Hex(readFileSync(join(root, f)))}`).join(''))
      : null;
    return { treeHash, commit, dirty, diffHash };
  } catch {
    return { treeHash: null, commit: null, dirty: true, diffHash: null };
  }
}
