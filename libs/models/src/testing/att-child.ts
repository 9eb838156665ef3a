// Child process for the resume test: trains with a checkpoint every iteration until the parent kills it (SIGKILL).
import { selectBackend } from '../backend';
import { attTrainer } from './att-run';

const opts = JSON.parse(process.argv[2]) as Parameters<typeof attTrainer>[0];
await selectBackend({ force: 'wasm', log: null });
await attTrainer(opts).trainer.run();
