/** An input problem located in a file (and line, when the problem is line-shaped). */
export class DataError extends Error {
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'DataError';
  }
}

/** A dataset folder that is absent; the message says how to obtain it. */
export class DatasetMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetMissingError';
  }
}

export interface Skipped {
  file: string;
  line?: number;
  reason: string;
}

/**
 * 'throw' (default): the first bad input raises a DataError naming file and line.
 * 'skip': bad entries are left out, and every one is listed in the result's `skipped`.
 */
export type OnBad = 'throw' | 'skip';

/** Collects skipped inputs under `onBad: 'skip'`; rethrows under 'throw'. */
export class SkipLog {
  readonly skipped: Skipped[] = [];
  constructor(readonly onBad: OnBad = 'throw') {}

  bad(err: unknown): void {
    if (this.onBad === 'throw' || !(err instanceof DataError)) throw err;
    this.skipped.push({ file: err.file, line: err.line, reason: err.reason });
  }
}

/** One line per skip plus a count, for logs and experiment records. */
export function formatSkipped(skipped: readonly Skipped[]): string {
  const lines = skipped.map((s) => `  ${s.line === undefined ? s.file : `${s.file}:${s.line}`}: ${s.reason}`);
  return [`${skipped.length} input(s) skipped`, ...lines].join('\n');
}
