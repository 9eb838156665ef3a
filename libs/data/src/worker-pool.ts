import { Worker } from 'node:worker_threads';
import type { AlignOptions } from './align';
import type { WorkerReply, WorkerRequest } from './align-worker-main';
import { type CropResult, type CropTask, tryCropImage } from './process';

/**
 * Decode + align on worker threads. With 0 workers the work runs on the calling thread, so
 * callers have one code path. Tasks are sent in chunks, results come back in task order.
 */
export class CropPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { req: WorkerRequest; done: (r: CropResult[]) => void; fail: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { done: (r: CropResult[]) => void; fail: (e: Error) => void }>();
  private nextId = 0;
  private closing = false;

  constructor(
    readonly size: number,
    readonly chunk = 8,
  ) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./align-worker.mjs', import.meta.url));
      w.on('message', (m: WorkerReply) => this.onReply(w, m));
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (!this.closing) this.failAll(new Error(`crop worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  async run(tasks: CropTask[], align: Required<AlignOptions>): Promise<CropResult[]> {
    if (this.size === 0) return tasks.map((t) => tryCropImage(t, align));
    const parts: Promise<CropResult[]>[] = [];
    for (let i = 0; i < tasks.length; i += this.chunk) {
      const req = { id: this.nextId++, tasks: tasks.slice(i, i + this.chunk), align };
      parts.push(new Promise((done, fail) => this.queue.push({ req, done, fail })));
    }
    this.dispatch();
    return (await Promise.all(parts)).flat();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.pending.set(job.req.id, job);
      this.idle.pop()!.postMessage(job.req);
    }
  }

  private onReply(w: Worker, m: WorkerReply): void {
    const job = this.pending.get(m.id);
    this.pending.delete(m.id);
    this.idle.push(w);
    if (m.error) job?.fail(new Error(`crop worker failed: ${m.error}`));
    else job?.done(m.results!);
    this.dispatch();
  }

  private failAll(e: Error): void {
    for (const job of [...this.pending.values(), ...this.queue]) job.fail(e);
    this.pending.clear();
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
