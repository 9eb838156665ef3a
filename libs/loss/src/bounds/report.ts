import {
  CHECK_METHODS,
  PAPER_CLAIMS,
  type CheckMethod,
  type ClaimCheck,
  type MarginBoundClaims,
  type MarginBoundsReport,
  type VerifyMarginBoundsOptions,
} from './types';

const DESCRIPTION: Record<CheckMethod, string> = {
  symbolic: 'mathjs: inequalities (8), (9), (10) → polynomial conditions → exact roots',
  proof: 'Z3 (WASM) over the reals: negation unsat, tightness, counterexample just below',
  numeric: 'decision rule m·d(φ, Wᵢ) < min d(φ, Wⱼ) on the circle, bisection, tolerance 1e-9',
};

/** Runs the symbolic, proof and numeric checks of the margin bounds and collects one verdict per claim and method. */
export async function verifyMarginBounds(options: VerifyMarginBoundsOptions = {}): Promise<MarginBoundsReport> {
  const claims: MarginBoundClaims = { ...PAPER_CLAIMS, ...options.claims };
  const methods = options.methods ?? CHECK_METHODS;
  const unknown = methods.filter((m) => !CHECK_METHODS.includes(m));
  if (unknown.length > 0) throw new Error(`verifyMarginBounds: unknown method(s) ${unknown.join(', ')}; use ${CHECK_METHODS.join(', ')}`);
  const t0 = performance.now();
  const checks: ClaimCheck[] = [];
  const methodTimesMs: Partial<Record<CheckMethod, number>> = {};
  let z3InitMs: number | undefined;
  // Loaded here, not at import: mathjs takes seconds to load and every user of @sphereface/loss would pay it.
  const { formatSurd } = await import('./surd');
  for (const method of methods) {
    const start = performance.now();
    if (method === 'symbolic') checks.push(...(await import('./symbolic')).symbolicChecks(claims));
    else if (method === 'numeric') checks.push(...(await import('./numeric')).numericChecks(claims));
    else {
      const r = await (await import('./proof')).proofChecks(claims);
      checks.push(...r.checks);
      z3InitMs = r.initMs;
    }
    methodTimesMs[method] = performance.now() - start;
  }
  return {
    claims,
    claimed: { binary: formatSurd(claims.binary), uniform: formatSurd(claims.uniform) },
    checks,
    methodTimesMs,
    z3InitMs,
    totalMs: performance.now() - t0,
    passed: checks.length > 0 && checks.every((c) => c.verdict === 'pass'),
  };
}

const ms = (x: number) => `${x.toFixed(0)} ms`;

/** Readable report: per method, each claim with verdict, time and details; then a summary table. */
export function formatMarginBoundsReport(report: MarginBoundsReport): string {
  const lines = [
    'SphereFace margin bounds (Liu et al., CVPR 2017, Properties 2 and 3)',
    `claimed: two classes m_min = ${report.claimed.binary}; k ≥ 3 uniform classes m_min = ${report.claimed.uniform}`,
    '',
  ];
  for (const method of CHECK_METHODS) {
    const checks = report.checks.filter((c) => c.method === method);
    if (checks.length === 0) continue;
    const init = method === 'proof' && report.z3InitMs !== undefined ? `, Z3 start-up ${ms(report.z3InitMs)}` : '';
    lines.push(`== ${method}: ${DESCRIPTION[method]} (${ms(report.methodTimesMs[method] ?? 0)}${init})`);
    for (const c of checks) {
      lines.push(`[${c.verdict.toUpperCase()}] ${c.claim}  (${ms(c.timeMs)})`);
      for (const d of c.details) lines.push(`    ${d}`);
    }
    lines.push('');
  }
  lines.push('== summary');
  const width = Math.max(...report.checks.map((c) => c.claim.length));
  for (const c of report.checks) lines.push(`${c.verdict.toUpperCase().padEnd(4)}  ${c.method.padEnd(8)}  ${c.claim.padEnd(width)}  ${ms(c.timeMs)}`);
  const failed = report.checks.filter((c) => c.verdict === 'fail').length;
  lines.push(
    `${report.passed ? 'ALL CLAIMS HOLD' : `${failed} CHECK(S) FAILED`}: ${report.checks.length} checks in ${ms(report.totalMs)} (with loading mathjs and Z3)`,
  );
  return lines.join('\n');
}
