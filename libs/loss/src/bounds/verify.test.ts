import { describe, expect, it } from 'vitest';
import { proofChecks } from './proof';
import { formatMarginBoundsReport, verifyMarginBounds } from './report';
import { surd } from './types';

// Z3 starts in about 1 s and each proof run makes 12 queries; the machine is shared.
const Z3_TIMEOUT = 120_000;
const B = 2 + Math.sqrt(3);

describe('verifyMarginBounds end to end', () => {
  it(
    'runs all three checks on the paper claims, with Z3 models just below each bound',
    async () => {
      const report = await verifyMarginBounds();
      expect(report.passed).toBe(true);
      expect(report.checks.map((c) => c.method)).toEqual([...Array(3).fill('symbolic'), ...Array(4).fill('proof'), ...Array(4).fill('numeric')]);
      expect(Object.keys(report.methodTimesMs)).toEqual(['symbolic', 'proof', 'numeric']);
      expect(report.z3InitMs).toBeGreaterThan(0);

      const proofs = report.checks.filter((c) => c.method === 'proof');
      for (const c of proofs) {
        expect(c.details.filter((d) => d.includes('proved (negation unsat)'))).toHaveLength(2);
        expect(c.details.filter((d) => d.startsWith('  model: m = '))).toHaveLength(1);
      }
      const m = Number(/≈ ([\d.]+)/.exec(proofs[0].details.find((d) => d.startsWith('  model:'))!)![1]);
      expect(m).toBeLessThan(B);
      expect(m).toBeGreaterThan(B - 1e-6);

      const text = formatMarginBoundsReport(report);
      expect(text).toContain('[PASS] Property 2 (two classes, worst θ12): m_min = 2 + √3');
      expect(text).toContain('condition: m ^ 2 - 4 * m + 1 ≥ 0');
      expect(text).toContain('condition: m - 3 ≥ 0');
      expect(text).toMatch(/ALL CLAIMS HOLD: 11 checks in \d+ ms \(with loading mathjs and Z3\)$/);
    },
    Z3_TIMEOUT,
  );

  it('reports a failing claim', async () => {
    const report = await verifyMarginBounds({ claims: { uniform: surd(4) }, methods: ['numeric'] });
    expect(report.passed).toBe(false);
    expect(Object.keys(report.methodTimesMs)).toEqual(['numeric']);
    expect(report.checks.filter((c) => c.verdict === 'fail').map((c) => `${c.method}: ${c.claim}`)).toEqual([
      'numeric: Property 3 (k ≥ 3 uniformly spaced classes): m_min = 4',
    ]);
    const text = formatMarginBoundsReport(report);
    expect(text).toContain('[FAIL] Property 3 (k ≥ 3 uniformly spaced classes): m_min = 4');
    expect(text).toMatch(/1 CHECK\(S\) FAILED: 4 checks/);
  });

  it('names an unknown method', async () => {
    // @ts-expect-error: checking the runtime guard
    await expect(verifyMarginBounds({ methods: ['sympy'] })).rejects.toThrow(/unknown method\(s\) sympy/);
  });
});

describe('Z3 rejects wrong bounds', () => {
  it(
    'finds a counterexample for bounds 1e-6 too low and refutes tightness for bounds 1e-6 too high',
    async () => {
      const low = await proofChecks({ binary: surd('1999999/1000000', 1, 3), uniform: surd('2999999/1000000') });
      // The antipodal threshold min(B, 3) = 3 is unchanged by these claims, so it still passes.
      expect(low.checks.map((c) => c.verdict)).toEqual(['fail', 'fail', 'pass', 'fail']);
      expect(low.checks[0].details[1]).toMatch(/^m ≥ B ⇒ .*: sat — NOT proved/);
      expect(low.checks[3].details[1]).toMatch(/^m ≥ B ⇒ .*: sat — NOT proved/);

      const high = await proofChecks({ binary: surd('2000001/1000000', 1, 3), uniform: surd('3000001/1000000') });
      expect(high.checks.map((c) => c.verdict)).toEqual(['fail', 'fail', 'pass', 'fail']);
      expect(high.checks[0].details[2]).toMatch(/^tight: .*: sat — NOT proved/);
      expect(high.checks[3].details[2]).toMatch(/^tight: .*: sat — NOT proved/);
    },
    Z3_TIMEOUT,
  );
});
