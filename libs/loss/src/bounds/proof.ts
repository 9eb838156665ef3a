import type { Fraction } from 'mathjs';
import { init, killThreads, type Arith, type Bool, type Context } from 'z3-solver';
import { antipodal, CLAIM } from './claims';
import type { ClaimCheck, MarginBoundClaims } from './types';
import { formatSurd, toExactSurd, type ExactSurd } from './surd';

type Z3 = Context<'main'>;
type Result = 'sat' | 'unsat' | 'unknown';

/** How far below a bound the counterexample is looked for. */
const JUST_BELOW = { numerator: 1n, denominator: 1_000_000n };
/** Per-query limit; a query that runs out answers `unknown`, which fails the claim. */
const QUERY_TIMEOUT_MS = 60_000;

interface Query {
  readonly name: string;
  readonly expect: 'sat' | 'unsat';
  readonly assertions: Bool<'main'>[];
  /** Values to print from a model. */
  readonly show: Record<string, Arith<'main'>>;
}

function real(z: Z3, f: Fraction): Arith<'main'> {
  return z.Real.val({ numerator: f.s * f.n, denominator: f.d });
}

/** a + b·r with r ≥ 0, r² = d: the surd stays exact inside the solver. */
function encodeSurd(z: Z3, s: ExactSurd): { value: Arith<'main'>; side: Bool<'main'>[] } {
  if (s.b.n === 0n) return { value: real(z, s.a), side: [] };
  const r = z.Real.const(`sqrt${s.d}`);
  return { value: real(z, s.a).add(real(z, s.b).mul(r)), side: [r.ge(0), r.mul(r).eq(z.Real.val(s.d))] };
}

/**
 * Inequalities (8) and (9) with u = θ12/π (π cancels, so the formula stays polynomial in m, u and divisions by
 * m ± 1, which are ≥ 1 on the domain m ≥ 2). Returns intra (LHS of the case that applies), inter (RHS), holds.
 */
function binary(z: Z3, m: Arith<'main'>, u: Arith<'main'>) {
  const caseA = m.mul(u).le(m.sub(1));
  const lhs8 = u.div(m.sub(1)).add(u.div(m.add(1)));
  const lhs9 = z.Real.val(2).sub(u).div(m.add(1)).add(u.div(m.add(1)));
  const rhs = m.sub(1).mul(u).div(m.add(1));
  return {
    intra: z.If(caseA, lhs8, lhs9) as Arith<'main'>,
    inter: rhs,
    holds: z.Or(z.And(caseA, lhs8.le(rhs)), z.And(z.Not(caseA), lhs9.le(rhs))),
  };
}

function formatValue(z: Z3, v: Arith<'main'>): string {
  if (!z.isRealVal(v)) return v.sexpr();
  const { numerator, denominator } = v.value();
  const approx = (Number(numerator) / Number(denominator)).toPrecision(12);
  return denominator === 1n ? `${numerator}` : `${numerator}/${denominator} ≈ ${approx}`;
}

async function runQuery(z: Z3, q: Query, details: string[]): Promise<{ ok: boolean; ms: number }> {
  const solver = new z.Solver();
  solver.set('timeout', QUERY_TIMEOUT_MS);
  solver.add(...q.assertions);
  const t0 = performance.now();
  const result: Result = await solver.check();
  const ms = performance.now() - t0;
  const ok = result === q.expect;
  const meaning = q.expect === 'unsat' ? (ok ? 'proved (negation unsat)' : 'NOT proved') : ok ? 'counterexample found' : 'no counterexample';
  details.push(`${q.name}: ${result} — ${meaning} [${ms.toFixed(0)} ms]`);
  if (result === 'sat') {
    const model = solver.model();
    const values = Object.entries(q.show).map(([k, e]) => `${k} = ${formatValue(z, model.eval(e, true) as Arith<'main'>)}`);
    details.push(`  model: ${values.join(', ')}`);
  }
  return { ok, ms };
}

async function claimCheck(z: Z3, claim: string, bound: ExactSurd, queries: Query[]): Promise<ClaimCheck> {
  const details = [`bound encoded exactly: ${formatSurd(bound)}${bound.b.n === 0n ? '' : ` with r = √${bound.d} as r ≥ 0 ∧ r² = ${bound.d}`}`];
  let ok = true;
  let timeMs = 0;
  for (const q of queries) {
    const r = await runQuery(z, q, details);
    ok &&= r.ok;
    timeMs += r.ms;
  }
  return { claim, method: 'proof', verdict: ok ? 'pass' : 'fail', timeMs, details };
}

function binaryQueries(z: Z3, bound: ExactSurd): Query[] {
  const [m, u] = [z.Real.const('m'), z.Real.const('u')];
  const { value: B, side } = encodeSurd(z, bound);
  const domain = [m.ge(2), u.gt(0), u.le(1), ...side];
  const f = binary(z, m, u);
  const show = { m, 'θ12/π': u, 'intra/π': f.intra, 'inter/π': f.inter };
  const half = z.Real.val({ numerator: 1n, denominator: 2n });
  return [
    { name: 'm ≥ B ⇒ (8)/(9) hold for every θ12 ∈ (0, π]', expect: 'unsat', assertions: [...domain, m.ge(B), z.Not(f.holds)], show },
    {
      name: 'tight: every m ∈ [2, B) fails at θ12 = π/2',
      expect: 'unsat',
      assertions: [m.ge(2), m.lt(B), ...side, binary(z, m, half).holds],
      show: { m },
    },
    {
      name: 'counterexample with B − 10⁻⁶ < m < B',
      expect: 'sat',
      assertions: [...domain, m.gt(B.sub(z.Real.val(JUST_BELOW))), m.lt(B), z.Not(f.holds)],
      show,
    },
  ];
}

function perConfigurationQueries(z: Z3, bound: ExactSurd): Query[] {
  const [m, u] = [z.Real.const('m'), z.Real.const('u')];
  const { value: B, side } = encodeSurd(z, bound);
  const domain = [m.ge(2), u.gt(0), u.le(1), ...side];
  const f = binary(z, m, u);
  // u ≤ 2/(B−1) ⇔ u(B−1) ≤ 2; 1 + 2/u ≤ m ⇔ m·u ≥ u + 2 (u > 0): no division by the unknown u.
  const low = u.mul(B.sub(1)).le(2);
  const atLeast = z.Or(z.And(low, m.ge(B)), z.And(z.Not(low), m.mul(u).ge(u.add(2))));
  const show = { m, 'θ12/π': u, 'intra/π': f.intra, 'inter/π': f.inter };
  return [
    { name: 'm ≥ m*(θ12) ⇒ (8)/(9) hold', expect: 'unsat', assertions: [...domain, atLeast, z.Not(f.holds)], show },
    { name: 'tight: 2 ≤ m < m*(θ12) ⇒ they fail', expect: 'unsat', assertions: [...domain, z.Not(atLeast), f.holds], show },
    {
      name: 'counterexample above the crossover with m*(θ12) − 10⁻⁶ < m < m*(θ12)',
      expect: 'sat',
      assertions: [...domain, z.Not(low), m.mul(u).lt(u.add(2)), m.mul(u).gt(u.add(2).sub(u.mul(z.Real.val(JUST_BELOW)))), z.Not(f.holds)],
      show,
    },
  ];
}

function antipodalQueries(z: Z3, bound: ExactSurd): Query[] {
  const m = z.Real.const('m');
  const { value: C, side } = encodeSurd(z, bound);
  const f = binary(z, m, z.Real.val(1));
  const domain = [m.ge(2), ...side];
  const show = { m, 'intra/π': f.intra, 'inter/π': f.inter };
  return [
    { name: 'm ≥ C ⇒ (9) holds at θ12 = π', expect: 'unsat', assertions: [...domain, m.ge(C), z.Not(f.holds)], show },
    { name: 'tight: 2 ≤ m < C ⇒ it fails', expect: 'unsat', assertions: [...domain, m.lt(C), f.holds], show },
    {
      name: 'counterexample with C − 10⁻⁶ < m < C',
      expect: 'sat',
      assertions: [...domain, m.gt(C.sub(z.Real.val(JUST_BELOW))), m.lt(C), z.Not(f.holds)],
      show,
    },
  ];
}

/** (10) with angles a (to the next weight) and b (to the previous), uniform spacing a = b > 0, m ≥ 1. */
function uniformQueries(z: Z3, bound: ExactSurd): Query[] {
  const [m, a, b] = [z.Real.const('m'), z.Real.const('a'), z.Real.const('b')];
  const { value: B, side } = encodeSurd(z, bound);
  const intra = a.div(m.add(1)).add(b.div(m.add(1)));
  const holds = z.And(intra.le(m.sub(1).mul(a).div(m.add(1))), intra.le(m.sub(1).mul(b).div(m.add(1))));
  const domain = [m.ge(1), a.gt(0), a.eq(b), ...side];
  const show = { m, 'θ (rad)': a, intra, inter: m.sub(1).mul(a).div(m.add(1)) };
  return [
    { name: 'm ≥ B ⇒ (10) holds for every spacing θ > 0', expect: 'unsat', assertions: [...domain, m.ge(B), z.Not(holds)], show },
    { name: 'tight: 1 ≤ m < B ⇒ it fails', expect: 'unsat', assertions: [...domain, m.lt(B), holds], show },
    {
      name: 'counterexample with B − 10⁻⁶ < m < B',
      expect: 'sat',
      assertions: [...domain, m.gt(B.sub(z.Real.val(JUST_BELOW))), m.lt(B), z.Not(holds)],
      show,
    },
  ];
}

/**
 * Proofs over the reals with Z3 (WASM): each statement's negation is unsat, its tightness likewise, and a
 * model just below each bound is printed. Z3's worker threads are terminated before returning.
 */
export async function proofChecks(claims: MarginBoundClaims): Promise<{ checks: ClaimCheck[]; initMs: number }> {
  const t0 = performance.now();
  const api = await init();
  const initMs = performance.now() - t0;
  try {
    const z = api.Context('main');
    const [binaryBound, antipodalBound, uniformBound] = [toExactSurd(claims.binary), antipodal(claims), toExactSurd(claims.uniform)];
    const checks: ClaimCheck[] = [];
    for (const [claim, bound, queries] of [
      [CLAIM.binary(claims), binaryBound, binaryQueries],
      [CLAIM.perConfiguration(claims), binaryBound, perConfigurationQueries],
      [CLAIM.antipodal(claims), antipodalBound, antipodalQueries],
      [CLAIM.uniform(claims), uniformBound, uniformQueries],
    ] as const) {
      checks.push(await claimCheck(z, claim, bound, queries(z, bound)));
    }
    return { checks, initMs };
  } finally {
    await killThreads(api.em);
  }
}
