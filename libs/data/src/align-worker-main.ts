import { parentPort } from 'node:worker_threads';
import { type AlignOptions, resolveAlign } from './align';
import { type CropResult, type CropTask, tryCropImage } from './process';

export interface WorkerRequest {
  id: number;
  tasks: CropTask[];
  /**
   * The alignment, template included: a built-in's name or the template object itself ({ name, points, width,
   * height }, structured-cloned), resolved and validated here again.
   */
  align: Partial<AlignOptions>;
}
export interface WorkerReply {
  id: number;
  results?: CropResult[];
  /** An unexpected failure (a bug, not bad input): rethrown in the main thread. */
  error?: string;
}

const port = parentPort;
if (!port) throw new Error('align-worker-main must run in a worker thread');
port.on('message', (req: WorkerRequest) => {
  try {
    const align = resolveAlign(req.align); // a TemplateError here is a caller's error, reported in `error`
    const results = req.tasks.map((t) => tryCropImage(t, align));
    const transfer = results.flatMap((r) => (r.ok ? [r.data.buffer as ArrayBuffer] : []));
    port.postMessage({ id: req.id, results } satisfies WorkerReply, transfer);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).stack ?? String(e) } satisfies WorkerReply);
  }
});
