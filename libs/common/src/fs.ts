import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** writeFileAtomic's temporary name: `<file>.tmp-<pid>-<random>`. */
const ATOMIC_TEMP = /\.tmp-(\d+)-[a-z0-9]*$/;

/** Write via a temporary file in the same folder and rename, so readers never see a partial file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The PID of the process that was writing `name` when it is one of writeFileAtomic's temporary files; else null. */
export function atomicWriteTempPid(name: string): number | null {
  const match = ATOMIC_TEMP.exec(name);
  return match ? Number(match[1]) : null;
}

/** A process that is alive (EPERM: alive, but another user's, which kill(0) cannot signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writeFileAtomic calls killed mid-write left in `dir`: those whose writer is no longer
 * running, and this process's own (a write of this process that failed; none is under way while this runs).
 * Returns the paths removed.
 */
export function removeStaleTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const pid = atomicWriteTempPid(name);
    if (pid === null || (pid !== process.pid && processAlive(pid))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}
