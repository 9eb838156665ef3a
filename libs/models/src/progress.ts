export interface ProgressRecord {
  iteration: number;
  loss: number;
  accuracy: number;
  imagesPerSec: number;
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A one-line progress bar with ETA and images/s on a terminal; a plain line every `every` iterations otherwise. */
export class Progress {
  private readonly bar: boolean;
  private readonly enabled: boolean;
  private readonly started = performance.now();
  private readonly startIteration: number;

  constructor(
    private readonly total: number,
    startIteration: number,
    mode: ProgressMode = 'auto',
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly every = 10,
  ) {
    this.startIteration = startIteration;
    this.bar = mode === 'bar' || (mode === 'auto' && Boolean(stream.isTTY));
    this.enabled = mode !== 'none';
  }

  /** Text for one record (exported for tests). */
  line(r: ProgressRecord, now = performance.now()): string {
    const done = r.iteration - this.startIteration;
    const perIt = (now - this.started) / 1000 / Math.max(done, 1);
    const eta = formatDuration(perIt * (this.total - r.iteration));
    const stats = `it ${r.iteration}/${this.total} loss ${r.loss.toFixed(4)} acc ${(100 * r.accuracy).toFixed(1)}% ${r.imagesPerSec.toFixed(1)} img/s ETA ${eta}`;
    if (!this.bar) return stats;
    const width = 24, filled = Math.round((width * r.iteration) / this.total);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}`;
  }

  update(r: ProgressRecord): void {
    if (!this.enabled) return;
    if (this.bar) this.stream.write(`\r${this.line(r)}\x1b[K`);
    else if (r.iteration % this.every === 0 || r.iteration === this.total) this.stream.write(`${this.line(r)}\n`);
  }

  done(): void {
    if (this.enabled && this.bar) this.stream.write('\n');
  }
}
