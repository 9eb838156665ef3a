import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrainLog, repairTrainLog } from './train-log';

const tmp = mkdtempSync(join(tmpdir(), 'sf-train-log-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const line = (iteration: number, loss = iteration / 10) => JSON.stringify({ iteration, loss, accuracy: 0.5, lambda: 7, lr: 0.1 });
const write = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

describe('readTrainLog', () => {
  it('keeps event lines apart: the resume event does not replace the iteration it resumed at', () => {
    // Checkpoint at 4, killed after 5, resumed from 4: iteration 5 is done again.
    const path = write('resume.jsonl', [1, 2, 3, 4, 5].map((i) => line(i)).join('\n') + '\n' + JSON.stringify({ event: 'resume', from: 'ckpt-00000004', iteration: 4 }) + '\n' + [line(5, 0.55), line(6)].join('\n') + '\n');
    const log = readTrainLog(path);
    expect(log.records.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.records[3]).toMatchObject({ iteration: 4, loss: 0.4, lambda: 7 });
    expect(log.records[4].loss).toBe(0.55); // the resumed attempt's entry
    expect(log.events).toEqual([{ event: 'resume', from: 'ckpt-00000004', iteration: 4 }]);
    expect(log.tornTail).toBeNull();
  });

  it('drops what a resume from an earlier checkpoint supersedes, even when the new attempt stops sooner', () => {
    // Attempt 1 reached 7; attempt 2 resumed from 4 and stopped (health check) at 6: 7 is not part of this run.
    const path = write('superseded.jsonl', [1, 2, 3, 4, 5, 6, 7].map((i) => line(i)).join('\n') + '\n' + JSON.stringify({ event: 'resume', iteration: 4 }) + '\n' + line(5) + '\n' + line(6) + '\n');
    expect(readTrainLog(path).records.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('drops a torn last line (a write cut short) and says so; keeps a complete last line without its newline', () => {
    const whole = [1, 2, 3].map((i) => line(i)).join('\n');
    const torn = readTrainLog(write('torn.jsonl', `${whole}\n${line(4).slice(0, 25)}`));
    expect(torn.records.map((r) => r.iteration)).toEqual([1, 2, 3]);
    expect(torn.tornTail).toBe(line(4).slice(0, 25));
    const unterminated = readTrainLog(write('unterminated.jsonl', `${whole}\n${line(4)}`));
    expect(unterminated.records.map((r) => r.iteration)).toEqual([1, 2, 3, 4]);
    expect(unterminated.tornTail).toBeNull();
  });

  it('names the file and line of a damaged line before the end', () => {
    const path = write('middle.jsonl', `${line(1)}\n${line(2).slice(0, 20)}${line(3)}\n${line(4)}\n`);
    expect(() => readTrainLog(path)).toThrow(`${path}:2: not a JSON line`);
  });
});

describe('repairTrainLog', () => {
  it('cuts a torn last line so the next append starts a whole line; completes an unterminated one', () => {
    const whole = `${line(1)}\n${line(2)}\n`;
    const torn = write('repair-torn.jsonl', whole + line(3).slice(0, 30));
    expect(repairTrainLog(torn)).toBe(line(3).slice(0, 30));
    expect(readFileSync(torn, 'utf8')).toBe(whole);
    const unterminated = write('repair-unterminated.jsonl', whole + line(3));
    expect(repairTrainLog(unterminated)).toBeNull();
    expect(readFileSync(unterminated, 'utf8')).toBe(`${whole}${line(3)}\n`);
    expect(repairTrainLog(join(tmp, 'missing.jsonl'))).toBeNull();
  });
});
