// Child process for the resume test: trains with a checkpoint every iteration until the parent kills it (SIGKILL).
import { selectBackend } from '../backend';
import { attTrainer } from './att-run';

const opts = JSON.parse(process.argv[2]) as Parameters<typeof attTrainer>[0];
await selectBackend({ force: 'wasm', log: null });
try {
  await attTrainer(opts).trainer.run();
} catch (error) {
  // Just the message: an uncaught error would also print the (minified, megabyte-long) wasm source line it passed through.
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
