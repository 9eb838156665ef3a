import type { CodeStatusOf } from './report';
import { pairedComparisons, poolKey } from './comparisons';
import { interval, share, signed } from './format';
import { gapStudySection } from './gap-study';
import { figuresMarkdown } from './report-figures';
import { EXPERIMENTS, getExperiment, profileBase } from './definitions';
import type { RecordedProtocol, RunRecord } from './record';

/** Runs of one variant at one profile, pooled over seeds. */
export interface VariantSummary {
  experiment: string;
  variant: string;
  profile: string;
  runIds: string[];
  seeds: number[];
  /** Mean and sample std over seeds of each protocol's accuracy (fraction); std is null for one seed. */
  protocols: Record<string, { mean: number; std: number | null; description: string }>;
  paper: { lfw: number; source: string } | null;
  record: RunRecord;
  /** The canonical protocol's fold accuracies of each seed (for paired comparisons). */
  canonicalFolds: Map<number, number[]>;
}

/** Runs pool over seeds only when everything else in their config is equal (override runs stay apart). */
const key = (r: RunRecord) => poolKey(r.identity.config);

/** Groups records by experiment, variant and profile; the newest record per seed counts. */
export function summarise(records: RunRecord[]): VariantSummary[] {
  const groups = new Map<string, Map<number, RunRecord>>();
  for (const r of [...records].sort((a, b) => a.endedAt.localeCompare(b.endedAt))) {
    const bySeed = groups.get(key(r)) ?? new Map<number, RunRecord>();
    bySeed.set(r.identity.config.seed, r);
    groups.set(key(r), bySeed);
  }
  return [...groups.values()].map((bySeed) => {
    const runs = [...bySeed.values()].sort((a, b) => a.identity.config.seed - b.identity.config.seed);
    const first = runs[0];
    const protocols: VariantSummary['protocols'] = {};
    for (const p of first.metrics.lfw) {
      const values = runs.map((r) => r.metrics.lfw.find((q: RecordedProtocol) => q.protocol === p.protocol)?.mean).filter((v): v is number => v !== undefined);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : null;
      protocols[p.protocol] = { mean, std, description: p.description };
    }
    const c = first.identity.config;
    const canonicalFolds = new Map<number, number[]>();
    for (const r of runs) {
      const folds = r.metrics.lfw.find((q) => q.protocol === 'canonical')?.foldAccuracies;
      if (folds?.length) canonicalFolds.set(r.identity.config.seed, folds);
    }
    return {
      experiment: c.experiment,
      variant: c.variant,
      profile: c.profile,
      runIds: runs.map((r) => r.runId),
      seeds: runs.map((r) => r.identity.config.seed),
      protocols,
      paper: first.paper,
      record: first,
      canonicalFolds,
    };
  });
}

const pct = (v: number) => (100 * v).toFixed(2);

export function formatMeanStd(s: { mean: number; std: number | null }): string {
  return s.std === null ? pct(s.mean) : `${pct(s.mean)} ± ${pct(s.std)}`;
}

/** What separates a run from the paper's setting, stated plainly. */
export function scaleDifferences(record: RunRecord): string {
  const c = record.identity.config;
  const paper = profileBase('paper');
  const parts: string[] = [];
  if (c.data.train.dataset !== paper.data.train.dataset) {
    parts.push(`trained on ${c.data.train.dataset} (${record.metrics.train.identities ?? '?'} identities) instead of CASIA-WebFace (10,575)`);
  }
  if (c.data.crop.join('x') !== paper.data.crop.join('x')) parts.push(`input ${c.data.crop.join('×')} instead of 112×96`);
  if (c.model.name !== paper.model.name || c.model.widthMultiplier !== 1) {
    parts.push(`${c.model.name}${c.model.widthMultiplier !== 1 ? ` at width ×${c.model.widthMultiplier}` : ''} instead of the paper's network`);
  }
  if (c.trainer.iterations !== paper.trainer.iterations || c.trainer.batchSize !== paper.trainer.batchSize) {
    parts.push(`${c.trainer.iterations} iterations of batch ${c.trainer.batchSize} instead of 28,000 of 512`);
  }
  if (c.trainer.clipGradNorm !== null) parts.push(`gradient norm clipped at ${c.trainer.clipGradNorm}`);
  if (c.data.test.pairsPerFold !== 600) parts.push(`LFW ${c.data.test.pairsPerFold * 10} of 6,000 pairs`);
  if (record.overrides?.length) parts.push(`overrides ${record.overrides.map((o) => `\`${o}\``).join(', ')}`);
  return parts.join('; ') || 'none';
}

/** A markdown table for one experiment: paper value, ours (mean ± std over seeds, run IDs), protocol, scale. */
export function comparisonMarkdown(experiment: string, summaries: VariantSummary[], linkRecord: (s: VariantSummary, runId: string) => string): string {
  const definition = getExperiment(experiment);
  const rows = [
    '| variant | paper LFW % | ours LFW % (canonical) | seeds | runs | other protocols (ours) | differences from the paper’s setting |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const variant of definition.variants) {
    const found = summaries.filter((s) => s.experiment === experiment && s.variant === variant.name);
    if (found.length === 0) {
      rows.push(`| ${variant.name} | ${variant.paper ? variant.paper.lfw.toFixed(2) : '—'} | not run yet | | | | |`);
      continue;
    }
    for (const s of found) {
      const canonical = s.protocols.canonical;
      const others = Object.entries(s.protocols)
        .filter(([name]) => name !== 'canonical')
        .map(([name, v]) => `${name} ${formatMeanStd(v)}`)
        .join('; ');
      rows.push(
        `| ${variant.name} (${s.profile}) | ${variant.paper ? `${variant.paper.lfw.toFixed(2)}` : '—'} | ${canonical ? formatMeanStd(canonical) : '—'} | ${s.seeds.join(', ')} | ${s.runIds.map((id) => linkRecord(s, id)).join(', ')} | ${others || '—'} | ${scaleDifferences(s.record)} |`,
      );
    }
  }
  const sources = definition.variants.filter((v) => v.paper).map((v) => `${v.name}: ${v.paper!.source}`);
  const paired = pairedComparisonMarkdown(experiment, summaries);
  return [`### ${definition.title}`, '', definition.description, '', ...rows, '', `Paper numbers: ${sources.join('; ') || 'none reported'}.`, ...(paired ? ['', paired] : [])].join(
    '\n',
  );
}


/**
 * Paired comparisons of an experiment's variants against its baseline on the canonical protocol, per profile: per seed
 * (the runs' 10-fold means; interval over seeds) and per fold (the same LFW fold of the same seed; interval over seeds ×
 * folds), plus Page's trend test over the experiment's hypothesised order. Empty when there is nothing to pair. The
 * runs compared are those of pairedComparisons (comparisons.ts), which the report's figures use too.
 */
export function pairedComparisonMarkdown(experiment: string, summaries: VariantSummary[]): string {
  const out: string[] = [];
  for (const { profile, rows: compared, trends } of pairedComparisons(experiment, summaries)) {
    const rows = compared.map(({ variant, control, comparison: c }) => {
      const perSeed = c.perSeed ? `${interval(c.perSeed)} (${c.perSeed.n} seeds)` : `${signed(c.perFold.mean)}, 1 seed: no interval`;
      const pf = c.perFold;
      return `| ${variant} − ${control} | ${c.seeds.join(', ')} | ${perSeed} | ${interval(pf)} (${pf.n}) | ${share(pf.shareImproved)} / ${share(pf.shareTied)} / ${share(pf.shareWorsened)} |`;
    });
    if (rows.length) {
      out.push(
        `Paired differences on the canonical protocol (${profile} profile), in percentage points of LFW accuracy, with 95 % Student-t intervals: per seed, one difference per training seed (the two runs' 10-fold means; the interval is over seeds, so it reflects training-run variation); per fold, one difference per (seed, LFW fold) pair on the same fold of the same seed (the interval treats the folds as independent, so it reflects the spread over LFW's test folds for these trained models, not over training runs).`,
        '',
        '| comparison | seeds | per seed: mean [95 % CI] | per fold: mean [95 % CI] (pairs) | folds better / tied / worse |',
        '|---|---|---|---|---|',
        ...rows,
      );
    }
    for (const trend of trends) {
      const t = trend.result;
      out.push(
        '',
        `Trend over ${trend.variants.join(' < ')} (${profile} profile): Page's L test on the per-seed canonical means, ranked within each seed (blocks = seeds ${t.seeds.join(', ')}${t.droppedSeeds.length ? `; seeds ${t.droppedSeeds.join(', ')} left out, not run for every variant` : ''}): L = ${t.L}, one-sided p = ${t.pValue.toPrecision(3)} (${t.method === 'exact' ? 'exact permutation distribution' : `normal approximation, z = ${t.z!.toFixed(2)}`}${t.tiedBlocks ? `; ${t.tiedBlocks} seed(s) with ties, mid-ranks` : ''}). With ${t.n} seed(s) and ${t.k} variants the smallest attainable p is ${(1 / factorial(t.k) ** t.n).toPrecision(3)}.`,
      );
    }
  }
  return out.join('\n');
}

function factorial(k: number): number {
  return k <= 1 ? 1 : k * factorial(k - 1);
}

/**
 * The reproduction report: one section per experiment from the records of the given profiles, made with the
 * profile's own settings; runs with `--set` overrides (studies, diagnostics) are listed apart.
 */
export function reproductionReport(records: RunRecord[], profiles: readonly string[] = ['cpu', 'cpu-full', 'paper'], codeStatus?: CodeStatusOf): string {
  const chosen = records.filter((r) => profiles.includes(r.identity.config.profile));
  const summaries = summarise(chosen.filter((r) => !r.overrides?.length && !r.failure));
  const link = (s: VariantSummary, id: string) => `[\`${id}\`](../experiments/records/${s.profile}/${id}.json)`;
  const sections = EXPERIMENTS.map((e) => comparisonMarkdown(e.name, summaries, link));
  const byStart = (a: RunRecord, b: RunRecord) => a.startedAt.localeCompare(b.startedAt);
  const recordLink = (r: RunRecord) => `[\`${r.runId}\`](../experiments/records/${r.identity.config.profile}/${r.runId}.json)`;
  const settings = (r: RunRecord) => (r.overrides?.length ? r.overrides.map((o) => `\`${o}\``).join(', ') : 'profile defaults');
  const studies = chosen.filter((r) => r.overrides?.length && !r.failure).sort(byStart);
  const failed = chosen.filter((r) => r.failure).sort(byStart);
  const gap = profiles.includes('cpu-full') ? gapStudySection(chosen) : '';
  /** A markdown section listing runs one per row (the first cells of each row: run link, experiment/variant, profile, settings). */
  const runsSection = (title: string, columns: string[], runs: RunRecord[], cells: (r: RunRecord) => string[]) => {
    const row = (r: RunRecord) => [recordLink(r), `${r.identity.config.experiment}/${r.identity.config.variant}`, r.identity.config.profile, settings(r), ...cells(r)];
    return [`### ${title}`, '', `| ${['run', 'experiment/variant', 'profile', ...columns].join(' | ')} |`, `|${'---|'.repeat(columns.length + 3)}`, ...runs.map((r) => `| ${row(r).join(' | ')} |`)].join('\n');
  };
  if (studies.length) {
    sections.push(
      runsSection('Other recorded runs (profile settings changed with `--set`)', ['overrides', 'LFW % (canonical)', 'train loss / accuracy'], studies, (r) => {
        const canonical = r.metrics.lfw.find((p) => p.protocol === 'canonical');
        return [canonical ? formatMeanStd(canonical) : '—', `${r.metrics.train.loss.toFixed(3)} / ${(100 * r.metrics.train.accuracy).toFixed(1)} %`];
      }),
    );
  }
  if (failed.length) {
    sections.push(
      runsSection('Failed runs (stopped by a training health check; no evaluation)', ['settings', 'stopped at', 'diagnosis'], failed, (r) => [
        `iteration ${r.failure!.iteration} (${r.failure!.kind})`,
        r.failure!.diagnosis.replaceAll('|', '\\|'),
      ]),
    );
  }
  return [
    '# Reproduction report',
    '',
    '<!-- Generated by `npm run docs` from experiments/records; do not edit by hand. CI fails when it is stale. -->',
    '',
    `Every number below comes from a run record in \`experiments/records/\` (profiles: ${profiles.join(', ')}). “Ours” is the mean ± sample std over seeds of the canonical SphereFace LFW protocol (the authors’ evaluation.m: 10 folds, flip-concatenated features, mean subtraction, threshold averaging); the other protocols are computed from the same features. The paper trained a 4- to 64-layer network on CASIA-WebFace (494k images, 10,575 identities) for 28,000 iterations of batch 512 on GPUs; the \`cpu\` profile runs on a 2-core CPU, so every row states what differs in scale. Reduced runs are not expected to reach the paper’s numbers; they show whether the trends hold.`,
    '',
    ...(codeStatus ? [codeParagraph(chosen, codeStatus), ''] : []),
    ...sections.flatMap((s) => [s, '']),
    ...(gap ? [gap, ''] : []),
    figuresMarkdown(summaries, 'cpu'),
    '',
  ].join('\n');
}

/** Which records were made with the code here now, and which files differ for the others (`sphereface show` has each run's). */
function codeParagraph(records: RunRecord[], codeStatus: CodeStatusOf): string {
  const statuses = records.map(codeStatus);
  const count = (state: string) => statuses.filter((s) => s.state === state).length;
  const files = new Map<string, number>();
  for (const s of statuses) for (const f of [...s.changed, ...s.added, ...s.removed]) files.set(f, (files.get(f) ?? 0) + 1);
  const listed = [...files.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return [
    `**Code.** A run ID covers the code the run executes (the runner's module graph, the lockfile, and the native addon's sources on the native backend), so commits to docs, tests or scripts keep it. Of the ${records.length} runs here, ${count('current')} were made with the current code, ${count('changed')} with other code, and ${count('unknown')} before per-file code identities were recorded (which files differ is unknown for those).`,
    ...(listed.length ? [` Files that differ from the runs made with other code: ${listed.slice(0, 12).map(([f, n]) => `\`${f}\` (${n})`).join(', ')}${listed.length > 12 ? ` and ${listed.length - 12} more` : ''}.`] : []),
  ].join('');
}
