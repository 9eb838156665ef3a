import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** src/losses/: every .ts file there except index.ts and tests is one loss. */
export const LOSSES_FOLDER = fileURLToPath(new URL('../losses/', import.meta.url));

/** The loss files, e.g. 'cosface.ts'. */
export const LOSS_FILES: readonly string[] = readdirSync(LOSSES_FOLDER)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.test.ts'))
  .sort();

/**
 * Imports, and so registers, every loss file, whether or not losses/index.ts exports it yet: the suites that
 * run over the registry then pick up a new loss file without being edited.
 */
export async function importLossFiles(): Promise<void> {
  for (const file of LOSS_FILES) await import(`../losses/${file.replace(/\.ts$/, '')}`);
}
