// Worker entry, plain JS so that Node can start it under any runner (node, tsx, vitest):
// it registers tsx's loader in this thread and then loads the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./store-worker-main.ts');
