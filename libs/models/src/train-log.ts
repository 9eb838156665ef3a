import { appendFileSync, closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IterationRecord } from './trainer';

/**
 * The trainer's JSONL log (`TrainerConfig.logFile`): one line per iteration (an IterationRecord; the step a health
 * check stopped is logged too, with `health` and `diagnosis`), and event lines, which have an `event` field:
 *
 * - `{"event":"resume","from":<checkpoint>,"iteration":k}`: training continues from the state after iteration k, so
 *   what an earlier attempt logged after k is superseded (it is done again, or the run now stops sooner);
 * - `{"event":"torn-line-dropped","bytes":n}`: the last line of an earlier attempt was cut short (a full disk, a
 *   file-size limit) and was removed before appending.
 *
 * The log is append-only; this module is its one reader, next to the writer.
 */
export interface TrainLogEvent {
  event: string;
  iteration?: number;
  [key: string]: unknown;
}

export interface TrainLog {
  /** The iteration records of the run as it now stands, by iteration: a redone iteration has its last entry. */
  records: IterationRecord[];
  /** Event lines, in file order. */
  events: TrainLogEvent[];
  /** An unterminated last line that is not JSON (a write cut short), which was left out; null when there is none. */
  tornTail: string | null;
}

function isEvent(entry: object): entry is TrainLogEvent {
  return typeof (entry as { event?: unknown }).event === 'string';
}

function parse(line: string): object | null {
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Reads a training log; a damaged line before the last one is an error naming the file and line. */
export function readTrainLog(path: string): TrainLog {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the file ends with a newline
  let tornTail: string | null = null;
  if (last !== '') {
    if (parse(last)) lines.push(last);
    else tornTail = last;
  }
  const byIteration = new Map<number, IterationRecord>();
  const events: TrainLogEvent[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    const entry = parse(line);
    if (!entry) throw new Error(`${path}:${i + 1}: not a JSON line (was the log written by another program, or damaged?)`);
    if (isEvent(entry)) {
      events.push(entry);
      if (entry.event === 'resume' && typeof entry.iteration === 'number') {
        for (const k of byIteration.keys()) if (k > entry.iteration) byIteration.delete(k);
      }
      return;
    }
    const record = entry as IterationRecord;
    if (!Number.isInteger(record.iteration)) throw new Error(`${path}:${i + 1}: neither an iteration record nor an event line`);
    byIteration.set(record.iteration, record);
  });
  return { records: [...byIteration.values()].sort((a, b) => a.iteration - b.iteration), events, tornTail };
}

/**
 * Makes the log end with a whole line before more is appended: a torn last line (not JSON) is cut off and returned; a
 * complete last line without its newline gets one. Returns null when nothing was cut (or there is no log).
 */
export function repairTrainLog(path: string): string | null {
  if (!existsSync(path) || !statSync(path).isFile()) return null;
  const data = readFileSync(path);
  if (data.length === 0 || data[data.length - 1] === 0x0a) return null;
  const start = data.lastIndexOf(0x0a) + 1;
  const tail = data.subarray(start).toString('utf8');
  const fd = openSync(path, 'r+');
  try {
    if (parse(tail)) {
      writeSync(fd, '\n', data.length);
      return null;
    }
    ftruncateSync(fd, start);
    return tail;
  } finally {
    closeSync(fd);
  }
}

/** Appends one entry as a line; a failed write (a full disk…) is reported with the log's path. */
export function appendTrainLog(path: string, entry: object): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, JSON.stringify(entry) + '\n');
  } catch (error) {
    throw new Error(`cannot append to the training log ${path}: ${(error as Error).message}`, { cause: error });
  }
}
