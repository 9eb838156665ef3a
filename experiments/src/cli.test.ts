import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli';
import { captureConsole } from './testing/console';

const COMMANDS = ['run', 'sweep', 'list', 'results', 'show', 'diff', 'cite', 'export', 'report', 'eval'];


afterEach(() => vi.restoreAllMocks());

describe('sphereface --help', () => {
  it('lists every command and exits 0', async () => {
    const io = captureConsole();
    expect(await main(['--help'])).toBe(0);
    for (const command of COMMANDS) expect(io.out()).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it.each(COMMANDS)('`%s --help` prints that command’s usage and does nothing else', async (command) => {
    const io = captureConsole();
    expect(await main([command, '--help'])).toBe(0);
    expect(io.out()).toMatch(new RegExp(`^usage: sphereface ${command}\\b`));
    expect(io.err()).toBe('');
  });

  it('documents each option that `run` accepts', async () => {
    const io = captureConsole();
    await main(['run', '-h']);
    for (const option of ['--variant', '--all', '--profile', '--seed', '--set', '--force']) expect(io.out()).toContain(option);
  });

  it('documents each option that `sweep` accepts, and `sweep status`', async () => {
    const io = captureConsole();
    await main(['sweep', '--help']);
    for (const option of ['--variants', '--all', '--seeds', '--profile', '--set', '--engine', '--parallel', '--partition', '--gres', '--time', '--mem', '--cpus-per-task', '--account', '--dry-run', 'status [<job>]']) {
      expect(io.out()).toContain(option);
    }
  });

  it('answers an unknown command with the usage and exit 2', async () => {
    const io = captureConsole();
    expect(await main(['bogus'])).toBe(2);
    expect(io.err()).toContain("unknown command 'bogus'");
    expect(io.err()).toContain('usage: sphereface <command>');
  });
});
