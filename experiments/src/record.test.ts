import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRecordIds, listRecords, readRecord, recordsDir, runIdOf, scanRecords, validateRecord, writeRecord } from './record';
import { fakeRecord } from './testing/fake-record';

const tempRoot = () => mkdtempSync(join(tmpdir(), 'sphereface-records-'));

describe('run IDs', () => {
  it('are identical for identical inputs, whatever the key order', () => {
    const a = fakeRecord().identity;
    const reordered = JSON.parse(JSON.stringify({ backend: a.backend, data: a.data, code: a.code, config: a.config }));
    expect(runIdOf(reordered)).toBe(runIdOf(a));
  });

  it('change when any input changes', () => {
    const base = fakeRecord().identity;
    const id = runIdOf(base);
    const variants = [
      { ...base, config: { ...base.config, seed: 1 } },
      { ...base, config: { ...base.config, trainer: { ...base.config.trainer, learningRate: 0.05 } } },
      { ...base, config: { ...base.config, loss: { ...base.config.loss, options: { ...base.config.loss.options, m: 3 } } } },
      { ...base, code: { ...base.code, diffHash: 'e'.repeat(64) } },
      { ...base, code: { ...base.code, treeHash: 'f'.repeat(40) } },
      { ...base, data: { ...base.data, lfw: '0'.repeat(64) } },
      { ...base, backend: 'cpu' },
    ];
    const ids = variants.map(runIdOf);
    for (const other of ids) expect(other).not.toBe(id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('record files', () => {
  it('round-trip through write and read, also by ID prefix', () => {
    const root = tempRoot();
    const record = fakeRecord();
    writeRecord(root, record);
    expect(readRecord(root, record.runId)).toEqual(record);
    expect(readRecord(root, record.runId.slice(0, 6))).toEqual(record);
    expect(listRecordIds(root)).toEqual([record.runId]);
  });

  it('reject a record whose ID does not match its identity, naming the file', () => {
    const root = tempRoot();
    const record = fakeRecord();
    writeRecord(root, record);
    const path = join(recordsDir(root), 'smoke', `${record.runId}.json`);
    const tampered = JSON.parse(readFileSync(path, 'utf8'));
    tampered.identity.config.seed = 42;
    writeFileSync(path, JSON.stringify(tampered));
    expect(() => readRecord(root, record.runId)).toThrow(new RegExp(`${record.runId}\\.json: not a valid run record: runId .* does not match`));
  });

  it('validate the schema', () => {
    const record = fakeRecord();
    expect(() => validateRecord({ ...record, schema: 'other' }, 'x')).toThrow(/schema is other/);
    expect(() => validateRecord({ ...record, startedAt: 'yesterday' }, 'x')).toThrow(/startedAt/);
    expect(() => validateRecord({ ...record, metrics: { ...record.metrics, lfw: [{ protocol: 'p', mean: Number.NaN }] } }, 'x')).toThrow(/malformed/);
  });

  it('a process killed while writing leaves no partial record', async () => {
    const root = tempRoot();
    const record = fakeRecord();
    // A large history makes the write take long enough to be interrupted.
    record.history = Array.from({ length: 400_000 }, (_, i) => ({ iteration: i, loss: Math.random(), accuracy: Math.random() }));
    const recordFile = join(root, 'record.json');
    writeFileSync(recordFile, JSON.stringify(record));
    const script = `
      import { readFileSync } from 'node:fs';
      import { writeRecord } from ${JSON.stringify(new URL('./record.ts', import.meta.url).pathname)};
      const record = JSON.parse(readFileSync(${JSON.stringify(recordFile)}, 'utf8'));
      writeRecord(${JSON.stringify(root)}, record);
      process.send('ready');
      for (;;) writeRecord(${JSON.stringify(root)}, record);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The first write finished before 'ready'; the kill hit one of the overwrites. Whatever instant it hit, the
    // record is there and whole.
    expect(listRecordIds(root)).toEqual([record.runId]);
    expect(readRecord(root, record.runId).history).toHaveLength(record.history.length);
    const leftovers = readdirSync(join(recordsDir(root), 'smoke')).filter((f) => f.includes('.tmp-'));
    expect(leftovers.every((f) => !/^[0-9a-f]{16}\.json$/.test(f))).toBe(true);
  });

  it('a damaged record is named by its file; scanning lists the others and the damaged one apart', () => {
    const root = tempRoot();
    const good = fakeRecord();
    writeRecord(root, good);
    const path = writeRecord(root, fakeRecord({ seed: 1 }));
    truncateSync(path, 300);
    const badId = fakeRecord({ seed: 1 }).runId;
    expect(() => readRecord(root, badId)).toThrow(`${path}: not valid JSON (`);
    expect(() => listRecords(root)).toThrow(`${path}: not valid JSON (`);
    const { records, damaged } = scanRecords(root);
    expect(records.map((r) => r.runId)).toEqual([good.runId]);
    expect(damaged).toEqual([{ path, runId: badId, error: expect.stringContaining(`${path}: not valid JSON (`) }]);
  });

  it('writing a record removes the temporary files of writers that were killed, not those of live ones', async () => {
    const root = tempRoot();
    const record = fakeRecord();
    writeRecord(root, record);
    const dir = join(recordsDir(root), 'smoke');
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const live = process.ppid;
    const deadTmp = join(dir, `${record.runId}.json.tmp-${dead}-4fz1k`);
    const liveTmp = join(dir, `${record.runId}.json.tmp-${live}-9aa0b`);
    writeFileSync(deadTmp, '{"schema":');
    writeFileSync(liveTmp, '{"schema":');
    writeRecord(root, fakeRecord({ seed: 3 }));
    expect(existsSync(deadTmp)).toBe(false);
    expect(existsSync(liveTmp)).toBe(true);
  });
});
