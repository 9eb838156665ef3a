import { spawnSync } from 'node:child_process';

/**
 * The Slurm client commands a sweep uses (sbatch, squeue, sacct, scancel), run as child processes. They read the
 * cluster's slurm.conf as usual ($SLURM_CONF or the default). Nothing here schedules anything itself.
 */

export class SlurmError extends Error {}

function slurm(command: string, args: string[]): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

function describeFailure(command: string, result: ReturnType<typeof slurm>): string {
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return `${command} not found: is this a Slurm login node? (Debian: apt-get install slurm-client; the cluster's slurm.conf in /etc/slurm or $SLURM_CONF)`;
  }
  const why = (result.stderr || result.stdout || result.error?.message || '').trim();
  return `${command} failed (exit ${result.status ?? 'none'}): ${why}`;
}

/** Submits a batch script; returns the job ID (sbatch --parsable prints `id` or `id;cluster`). */
export function sbatch(scriptPath: string): string {
  const result = slurm('sbatch', ['--parsable', scriptPath]);
  if (result.status !== 0) throw new SlurmError(describeFailure('sbatch', result));
  const id = result.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job ID: ${result.stdout.trim()} ${result.stderr.trim()}`);
  return id;
}

export function scancel(jobId: string): void {
  const result = slurm('scancel', [jobId]);
  if (result.status !== 0) throw new SlurmError(describeFailure('scancel', result));
}

/** One array task as squeue or sacct sees it. */
export interface TaskState {
  /** The array index (SLURM_ARRAY_TASK_ID). */
  index: number;
  /** PENDING, RUNNING, COMPLETING… (squeue), or COMPLETED, FAILED, CANCELLED, TIMEOUT, PREEMPTED, OUT_OF_MEMORY… (sacct). */
  state: string;
  /** squeue's reason (pending: Resources, Priority…), or sacct's exit code `code:signal`. */
  detail: string;
  node: string;
}

/**
 * The array tasks of a job still in the queue (pending, running, completing). A pending array is one line
 * `id_[0-3%2]` unless expanded: `-r` lists each task.
 */
export function squeueTasks(jobId: string): TaskState[] {
  const result = slurm('squeue', ['-h', '-r', '-j', jobId, '-o', '%K|%T|%r|%N']);
  if (result.status !== 0) {
    // A job that has left the queue (and the controller's memory) is "Invalid job id": no tasks in the queue.
    if (/Invalid job id/i.test(result.stderr)) return [];
    throw new SlurmError(describeFailure('squeue', result));
  }
  return result.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [index, state, reason, node] = line.split('|');
      return { index: Number(index), state, detail: reason === 'None' ? '' : reason, node: node ?? '' };
    })
    .filter((t) => Number.isInteger(t.index));
}

/** sacct's view of the job's array tasks, or why sacct cannot be used (no accounting storage on this cluster). */
export function sacctTasks(jobId: string): { tasks: TaskState[] } | { unavailable: string } {
  const result = slurm('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'JobID,State,ExitCode,NodeList']);
  if (result.status !== 0 || /accounting storage is disabled/i.test(result.stderr + result.stdout)) {
    return { unavailable: (result.stderr || result.stdout || result.error?.message || `exit ${result.status}`).trim() };
  }
  const tasks: TaskState[] = [];
  for (const line of result.stdout.split('\n')) {
    const [jobField, state, exitCode, node] = line.split('|');
    const match = /^\d+_(\d+)$/.exec(jobField ?? '');
    if (match) tasks.push({ index: Number(match[1]), state: state.split(' ')[0], detail: exitCode ?? '', node: node ?? '' });
  }
  return { tasks };
}
