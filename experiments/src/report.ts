import { describeCodeStatus, type CodeStatus } from './code-identity';
import type { BenchmarkEvaluation, RunRecord } from './record';

export const SPHEREFACE_BIBTEX = `@inproceedings{liu2017sphereface,
  title     = {SphereFace: Deep Hypersphere Embedding for Face Recognition},
  author    = {Liu, Weiyang and Wen, Yandong and Yu, Zhiding and Li, Ming and Raj, Bhiksha and Song, Le},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2017},
  eprint    = {1704.08063},
  archivePrefix = {arXiv}
}`;

/** The headline protocol of a record: the canonical SphereFace 10-fold result when present. */
export function headline(record: RunRecord) {
  return record.metrics.lfw.find((p) => p.protocol === 'canonical') ?? record.metrics.lfw[0];
}

const pct = (v: number) => (v * 100).toFixed(2);

export function formatAccuracy(record: RunRecord): string {
  if (record.failure) return `failed at it ${record.failure.iteration} (${record.failure.kind})`;
  const h = headline(record);
  return h ? `${pct(h.mean)} ± ${pct(h.std)}` : '—';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export interface ResultsFilter {
  experiment?: string;
  variant?: string;
  profile?: string;
}

export function filterRecords(records: RunRecord[], filter: ResultsFilter): RunRecord[] {
  return records.filter((r) => {
    const c = r.identity.config;
    return (
      (!filter.experiment || c.experiment === filter.experiment) &&
      (!filter.variant || c.variant === filter.variant) &&
      (!filter.profile || c.profile === filter.profile)
    );
  });
}

/** A record's code against the current code, for `results` (short) and `show` (with the files). */
export type CodeStatusOf = (record: RunRecord) => CodeStatus;

const CODE_STATE_SHORT: Record<CodeStatus['state'], string> = { current: 'current', changed: 'changed', unknown: 'older' };

export function formatResults(records: RunRecord[], codeStatus?: CodeStatusOf): string {
  if (records.length === 0) return 'no run records match';
  const rows = [['run', 'experiment', 'variant', 'profile', 'seed', 'model', 'LFW % (10-fold)', 'paper %', 'backend', 'date', ...(codeStatus ? ['code'] : [])]];
  const sorted = [...records].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  for (const r of sorted) {
    const c = r.identity.config;
    rows.push([
      r.runId,
      c.experiment,
      r.overrides?.length ? `${c.variant} (--set)` : c.variant,
      c.profile,
      String(c.seed),
      `${c.model.name}×${c.model.widthMultiplier}@${c.data.crop.join('x')}`,
      formatAccuracy(r),
      r.paper ? r.paper.lfw.toFixed(2) : '—',
      r.identity.backend,
      r.startedAt.slice(0, 10),
      ...(codeStatus ? [(({ state, changed, added, removed }) => (state === 'changed' ? `changed (${changed.length + added.length + removed.length} files)` : CODE_STATE_SHORT[state]))(codeStatus(r))] : []),
    ]);
  }
  const studies = records.some((r) => r.overrides?.length);
  const notes = [
    ...(studies ? ['(--set): a run with changed profile settings; `sphereface show <run>` lists them'] : []),
    ...(codeStatus
      ? ['code: current = made with the code here now; changed = other code (`sphereface show <run>` names the files); older = made before per-file code identities']
      : []),
  ];
  return table(rows) + notes.map((n) => `\n${n}`).join('');
}

export function formatShow(record: RunRecord, codeStatus?: CodeStatusOf): string {
  const c = record.identity.config;
  const lines = [
    `run ${record.runId}: ${c.experiment}/${c.variant} (${c.profile} profile, seed ${c.seed})`,
    `code     commit ${record.code.commit ?? 'unknown'}${record.code.dirty ? ` + uncommitted changes (diff ${record.code.diffHash?.slice(0, 12)})` : ''}` +
      (codeStatus ? `; ${describeCodeStatus(codeStatus(record), Number.POSITIVE_INFINITY)}` : ''),
    `backend  ${record.identity.backend}  node ${record.environment.node}  tfjs ${record.environment.tfjs}  ${record.environment.cpu.model} ×${record.environment.cpu.cores}`,
    `time     ${record.startedAt} → ${record.endedAt} (${record.seconds.toFixed(0)} s)`,
    `data     ${Object.entries(record.identity.data).map(([k, v]) => `${k} ${v.slice(0, 12)}`).join(', ')}`,
    `model    ${c.model.name}, width ×${c.model.widthMultiplier}, ${c.model.embeddingDim}-D, input ${c.data.crop.join('×')}`,
    `loss     ${c.loss.name} ${JSON.stringify(c.loss.options)}`,
    ...(record.overrides?.length ? [`--set    ${record.overrides.join('  ')}`] : []),
    `trainer  ${JSON.stringify(c.trainer)}`,
    `train    ${Object.entries(record.metrics.train).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`).join(', ')}`,
  ];
  if (record.failure) lines.push(`FAILED   ${record.failure.diagnosis}`);
  if (record.metrics.lfw.length) {
    lines.push('LFW');
    for (const p of record.metrics.lfw) lines.push(`  ${p.protocol.padEnd(18)} ${pct(p.mean)} ± ${pct(p.std)} %   ${p.description}`);
  }
  if (record.metrics.verification) {
    lines.push(`  ${Object.entries(record.metrics.verification).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
  }
  if (record.metrics.angularFisherScore !== undefined) lines.push(`angular Fisher score ${record.metrics.angularFisherScore.toFixed(4)}`);
  for (const b of record.benchmarks ?? []) lines.push(...formatBenchmark(b));
  if (record.paper) lines.push(`paper    ${record.paper.lfw.toFixed(2)} % (${record.paper.source})`);
  for (const a of record.artifacts) lines.push(`artifact ${a.name}: ${a.path} (${a.bytes} bytes, sha256 ${a.sha256.slice(0, 12)})`);
  return lines.join('\n');
}

/** One benchmark evaluation (`sphereface eval`): a heading line, then its protocols as `show` lists LFW's. */
export function formatBenchmark(b: BenchmarkEvaluation): string[] {
  const { crop, template, normalise } = b.input;
  return [
    `benchmark ${b.name}: ${b.pairs} pairs, data ${b.dataHash.slice(0, 12)}, input ${crop.join('×')} ${template} ${normalise}, ` +
      `evaluation ${b.evaluationId} (${b.evaluatedAt}, ${b.backend})`,
    ...b.protocols.map((p) => `  ${p.protocol.padEnd(26)} ${pct(p.mean)} ± ${pct(p.std)} %`),
    ...(b.verification ? [`  ${Object.entries(b.verification).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`] : []),
  ];
}

/** Flattens nested objects to dotted keys for side-by-side comparison. */
function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = JSON.stringify(value);
  }
  return out;
}

export function formatDiff(a: RunRecord, b: RunRecord): string {
  const sections: Array<[string, (r: RunRecord) => unknown]> = [
    ['config', (r) => r.identity.config],
    ['code', (r) => r.code],
    ['data', (r) => r.identity.data],
    ['protocol', (r) => Object.fromEntries(r.metrics.lfw.map((p) => [p.protocol, p.description]))],
    ['metrics', (r) => ({ lfw: Object.fromEntries(r.metrics.lfw.map((p) => [p.protocol, { mean: p.mean, std: p.std }])), train: r.metrics.train, verification: r.metrics.verification ?? {} })],
    ['environment', (r) => ({ backend: r.backend, ...r.environment })],
  ];
  const out = [`diff ${a.runId} ${b.runId}`];
  for (const [name, pick] of sections) {
    const fa = flatten(pick(a));
    const fb = flatten(pick(b));
    const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
    const changed = keys.filter((k) => fa[k] !== fb[k]);
    out.push(`${name}: ${changed.length === 0 ? 'identical' : `${changed.length} difference(s)`}`);
    if (changed.length) {
      out.push(
        table([
          ['key', a.runId, b.runId],
          ...changed.map((k) => [k, fa[k] ?? '—', fb[k] ?? '—']),
        ])
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
  }
  return out.join('\n');
}

const bibEscape = (s: string) => s.replace(/([{}%&_#$])/g, '\\$1');

export function citeBibtex(record: RunRecord, repositoryUrl?: string): string {
  const c = record.identity.config;
  const h = headline(record);
  const date = record.endedAt.slice(0, 10);
  const result = h ? `LFW ${pct(h.mean)} ± ${pct(h.std)} % (${h.protocol})` : 'no LFW evaluation';
  const fields = [
    `  title        = {{sphereface-ts} run ${record.runId}: ${bibEscape(`${c.experiment}/${c.variant}`)}, ${c.profile} profile, seed ${c.seed}}`,
    `  author       = {{sphereface-ts contributors}}`,
    `  year         = {${date.slice(0, 4)}}`,
    `  date         = {${date}}`,
    `  version      = {${record.code.commit ?? 'unknown'}${record.code.dirty ? '+dirty' : ''}}`,
    `  note         = {Run ID ${record.runId}, commit ${record.code.commit ?? 'unknown'}${record.code.dirty ? ' with uncommitted changes' : ''}, ${date}. ${bibEscape(result)}. Reproduces \\cite{liu2017sphereface}.}`,
    `  related      = {liu2017sphereface}`,
    `  relatedtype  = {reproduces}`,
    ...(repositoryUrl ? [`  url          = {${repositoryUrl}}`] : []),
    `  howpublished = {Run record experiments/records/${c.profile}/${record.runId}.json}`,
  ];
  return `@software{sphereface_ts_run_${record.runId},\n${fields.join(',\n')}\n}\n\n${SPHEREFACE_BIBTEX}\n`;
}

const yamlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Papers-with-Code model-index YAML, one model per run, with the headline LFW accuracy. */
export function exportModelIndex(records: RunRecord[]): string {
  const lines = ['Collections:', '  - Name: SphereFace', '    Paper:', "      Title: 'SphereFace: Deep Hypersphere Embedding for Face Recognition'", '      URL: https://arxiv.org/abs/1704.08063', 'Models:'];
  for (const r of records) {
    const c = r.identity.config;
    const h = headline(r);
    if (!h) continue;
    lines.push(
      `  - Name: ${yamlString(`sphereface-ts-${c.experiment}-${c.variant}-${c.profile}-seed${c.seed}`)}`,
      '    In Collection: SphereFace',
      '    Metadata:',
      `      Run ID: ${yamlString(r.runId)}`,
      `      Commit: ${yamlString(r.code.commit ?? 'unknown')}`,
      `      Architecture: [${yamlString(c.model.name)}]`,
      `      Loss: ${yamlString(c.loss.name)}`,
      `      Training Data: ${yamlString(c.data.train.dataset)}`,
      `      Training Iterations: ${c.trainer.iterations}`,
      `      Batch Size: ${c.trainer.batchSize}`,
      `      Input Size: ${yamlString(c.data.crop.join('x'))}`,
      '    Results:',
      '      - Task: Face Verification',
      '        Dataset: LFW',
      '        Metrics:',
      `          Accuracy: ${pct(h.mean)}`,
      `          Protocol: ${yamlString(h.protocol)}`,
      `    Config: ${yamlString(`experiments/records/${c.profile}/${r.runId}.json`)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
