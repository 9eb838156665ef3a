import { describe, expect, it } from 'vitest';
import { citeBibtex, exportModelIndex, filterRecords, formatDiff, formatResults, formatShow } from './report';
import { fakeRecord } from './testing/fake-record';
import type { CodeStatus } from './code-identity';
import type { RunRecord } from './record';

describe('results, show, diff, cite, export', () => {
  const a = fakeRecord({ mean: 0.7512 });
  const b = fakeRecord({ seed: 1, mean: 0.8, backend: 'cpu' });

  it('results lists each run with its headline accuracy and the paper value', () => {
    const text = formatResults([a, b]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain(a.runId);
    expect(lines[2]).toContain('75.12 ± 1.00');
    expect(lines[2]).toContain('99.42');
    expect(lines[3]).toContain('80.00 ± 1.00');
    expect(filterRecords([a, b], { variant: 'a-softmax-m4', profile: 'smoke' })).toHaveLength(2);
    expect(filterRecords([a, b], { profile: 'cpu' })).toHaveLength(0);
    const study = { ...fakeRecord({ seed: 2 }), overrides: ['trainer.iterations=300'] };
    expect(formatResults([study])).toMatch(/a-softmax-m4 \(--set\)[\s\S]*\(--set\): a run with changed profile settings/);
    expect(formatShow(study)).toContain('--set    trainer.iterations=300');
  });

  it('results and show say whether each record was made with the current code, and show names the files that differ', () => {
    const status = (r: RunRecord): CodeStatus =>
      r === a ? { state: 'current', changed: [], added: [], removed: [] } : { state: 'changed', changed: ['libs/loss/src/psi.ts'], added: [], removed: [] };
    const lines = formatResults([a, b], status).split('\n');
    expect(lines[0]).toMatch(/\bcode$/);
    expect(lines[2]).toMatch(/ current$/);
    expect(lines[3]).toMatch(/ changed \(1 files\)$/);
    expect(lines.at(-1)).toContain('older = made before per-file code identities');
    expect(formatShow(b, status)).toMatch(/^code .*; made with other code: 1 file\(s\) differ \(libs\/loss\/src\/psi\.ts\)$/m);
    expect(formatShow(a, status)).toMatch(/^code .*; made with the current code$/m);
  });

  it('show names every protocol with its description', () => {
    const text = formatShow(a);
    expect(text).toMatch(/canonical\s+75\.12 ± 1\.00 %\s+canonical/);
    expect(text).toMatch(/no-flip\s+74\.12 ± 2\.00 %/);
    expect(text).toContain(`commit ${'d'.repeat(40)}`);
  });

  it('diff reports exactly the fields that differ, section by section', () => {
    const text = formatDiff(a, b);
    expect(text).toMatch(/config: 1 difference\(s\)/);
    expect(text).toMatch(/seed\s+0\s+1/);
    expect(text).toMatch(/protocol: identical/);
    expect(text).toMatch(/metrics: \d+ difference/);
    expect(text).toMatch(/environment: 1 difference\(s\)\n.*\n.*\n\s+backend\.name\s+"wasm"\s+"cpu"/);
    expect(formatDiff(a, a)).not.toMatch(/difference/);
  });

  it('cite gives a BibTeX entry with run ID, commit and date, citing the paper', () => {
    const text = citeBibtex(a);
    expect(text).toContain(`@software{sphereface_ts_run_${a.runId},`);
    expect(text).toContain(`Run ID ${a.runId}, commit ${'d'.repeat(40)}, 2026-11-27.`);
    expect(text).toContain('LFW 75.12 ± 1.00 \\% (canonical)');
    expect(text).toContain('related      = {liu2017sphereface}');
    expect(text).toContain(`howpublished = {Run record experiments/records/smoke/${a.runId}.json}`);
    expect(text).toContain('@inproceedings{liu2017sphereface,');
    // Balanced braces: a BibTeX parser would otherwise reject the entry.
    expect([...text].filter((c) => c === '{').length).toBe([...text].filter((c) => c === '}').length);
  });

  it('export writes model-index YAML with one model per run', () => {
    const yaml = exportModelIndex([a, b]);
    expect(yaml.startsWith('Collections:\n  - Name: SphereFace\n')).toBe(true);
    expect(yaml.match(/^ {2}- Name: 'sphereface-ts-table3-a-softmax-m4-smoke-seed\d'$/gm)).toHaveLength(2);
    expect(yaml).toContain('          Accuracy: 75.12');
    expect(yaml).toContain(`      Run ID: '${a.runId}'`);
    expect(yaml).toContain(`    Config: 'experiments/records/smoke/${a.runId}.json'`);
  });
});
