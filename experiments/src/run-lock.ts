import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive } from '@sphereface/common';

/** Who holds a run's lock (the JSON content of the lock file). */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused PID apart; null elsewhere. */
  processStart: string | null;
}

/** The run is being trained by another process (or one on another machine that this one cannot check). */
export class RunLockedError extends Error {
  constructor(
    readonly holder: LockHolder,
    readonly lockFile: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  path: string;
  /** The holder of a lock whose process was gone, which this one replaced; null when the lock was free. */
  tookOver: LockHolder | null;
  release(): void;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the holder still runs: true, false, or null when it is on another machine and cannot be checked. */
function stillRunning(holder: LockHolder): boolean | null {
  if (holder.host !== hostname()) return null;
  if (!Number.isInteger(holder.pid) || !processAlive(holder.pid)) return false;
  const start = processStart(holder.pid);
  return !(holder.processStart && start && start !== holder.processStart); // same PID, other process: reused
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as LockHolder;
    return value && typeof value === 'object' && Number.isInteger(value.pid) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock file `path` for `what` (e.g. "run 0123…"), or throws a RunLockedError naming the holder. The lock
 * is created whole (written aside, then hard-linked into place, which fails if it exists); a lock whose process is
 * gone (killed) is taken over.
 */
export function acquireRunLock(path: string, what: string): RunLock {
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
    processStart: processStart(process.pid),
  };
  const text = JSON.stringify(me);
  let tookOver: LockHolder | null = null;
  for (let attempt = 0; attempt < 10; attempt++) {
    const mine = `${path}.new-${process.pid}`;
    try {
      writeFileSync(mine, text);
      linkSync(mine, path);
      rmSync(mine, { force: true });
      return { path, tookOver, release: () => releaseRunLock(path, text) };
    } catch (error) {
      rmSync(mine, { force: true });
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the lock ${path}: ${(error as Error).message}`, { cause: error });
    }
    let current: string;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const holder = parseHolder(current);
    const running = holder ? stillRunning(holder) : false; // a lock is never written partially: an unreadable one is stale
    if (holder && running !== false) {
      const who = `process ${holder.pid} ${running === null ? `on ${holder.host}` : 'on this machine'} (since ${holder.since}: ${holder.command})`;
      throw new RunLockedError(
        holder,
        path,
        running === null
          ? `${what} is locked by ${who}, which this machine cannot check; if that process is no longer running, delete ${path}`
          : `${what} is already running in ${who}; lock ${path}. Wait for it to finish (the finished run is then replayed) or stop it`,
      );
    }
    // Stale: move it aside; if what was moved is not what was read, another process took it over first: put it back.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readFileSync(aside, 'utf8');
    if (moved !== current) {
      try {
        linkSync(aside, path);
      } catch {
        // a third process holds it now; the next attempt reads that one
      }
      rmSync(aside, { force: true });
      continue;
    }
    rmSync(aside, { force: true });
    tookOver = holder ?? { pid: Number.NaN, host: '?', since: '?', command: `unreadable lock: ${current.slice(0, 80)}`, processStart: null };
  }
  throw new Error(`cannot take the lock ${path}: it kept changing hands`);
}

function releaseRunLock(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}
