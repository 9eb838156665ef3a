/**
 * Timing of lfwTenFold and evaluateLfwProtocols at LFW size (6000 pairs, 512-D per image, 1024-D fused).
 * Usage: npx tsx scripts/bench-ten-fold.ts [--runs N] [--reference]
 * Prints wall and CPU time (CPU time is less sensitive to other processes on a shared machine) and the
 * load average, so that figures from a busy machine can be recognised as such.
 */
import { loadavg } from 'node:os';
import { evaluateLfwProtocols, lfwTenFold } from '../src/index';
import { referenceEvaluationM } from '../src/testing/reference';
import { concatRows, syntheticPairs } from '../src/testing/synthetic';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench-ten-fold: --runs needs a positive integer, got ${args[runsAt + 1]}`);

function time<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

const gen = time(() => syntheticPairs({ pairs: 6000, dim: 512, signal: 0.35, seed: 2017 }));
const p = gen.value;
const left = concatRows(p.leftOriginal, p.leftFlipped);
const right = concatRows(p.rightOriginal, p.rightFlipped);
console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`synthetic data (6000 pairs, 2×2×512-D): wall ${fmt(gen.wallMs)}, cpu ${fmt(gen.cpuMs)}`);

const tenFold = Array.from({ length: runs }, () => time(() => lfwTenFold({ left, right, same: p.same })));
const r = tenFold[0].value;
console.log(
  `lfwTenFold 6000×1024, median of ${runs}: wall ${fmt(median(tenFold.map((t) => t.wallMs)))}, ` +
    `cpu ${fmt(median(tenFold.map((t) => t.cpuMs)))}; accuracy ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.std).toFixed(2)}`,
);

const report = time(() => evaluateLfwProtocols(p));
console.log(`evaluateLfwProtocols (4 protocols + ROC metrics): wall ${fmt(report.wallMs)}, cpu ${fmt(report.cpuMs)}`);
for (const x of report.value.protocols) {
  console.log(
    `  ${x.name.padEnd(15)} ${(100 * x.accuracy).toFixed(2)}%  AUC ${x.metrics.auc.toFixed(4)}  EER ${(100 * x.metrics.eer).toFixed(2)}%`,
  );
}

if (args.includes('--reference')) {
  const ref = time(() => referenceEvaluationM(left, right, p.same));
  console.log(`reference evaluation.m transcription: wall ${fmt(ref.wallMs)}, cpu ${fmt(ref.cpuMs)}`);
}
