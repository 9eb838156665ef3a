// Child process for the runner's kill and concurrency tests: runs one experiment, and at a chosen point kills itself
// with SIGKILL (no cleanup of any kind runs) or stops and waits to be killed. Progress goes to the parent over IPC.
import { Trainer } from '@sphereface/models';
import { runExperiment, type RunOptions } from '../runner';

export interface RunChildOptions {
  run: Omit<RunOptions, 'log'>;
  /** SIGKILL right after this iteration's log line is written. */
  killAfterIteration?: number;
  /** SIGKILL as soon as the runner logs a line starting with this (e.g. '[4/5]': during evaluation). */
  killAtLine?: string;
  /** After this iteration, tell the parent ({ paused: iteration }) and wait, still holding whatever the run holds. */
  pauseAfterIteration?: number;
}

const options = JSON.parse(process.argv[2]) as RunChildOptions;
const die = () => process.kill(process.pid, 'SIGKILL');
const step = Trainer.prototype.step;
Trainer.prototype.step = async function (this: Trainer) {
  const record = await step.call(this);
  if (record.iteration === options.killAfterIteration) die();
  if (record.iteration === options.pauseAfterIteration) {
    process.send?.({ paused: record.iteration });
    await new Promise(() => undefined);
  }
  return record;
};
await runExperiment({
  ...options.run,
  log: (line) => {
    process.send?.({ line });
    if (options.killAtLine && line.startsWith(options.killAtLine)) die();
  },
});
process.disconnect?.();
