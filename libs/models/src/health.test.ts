import { describe, expect, it } from 'vitest';
import { HealthMonitor, LOSS_UNDERFLOW, TrainingHealthError } from './health';

const ok = { iteration: 1, loss: 2, gradNorm: 1, featureNorm: 5, lr: 0.1, lambda: 5 };

function kindOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(TrainingHealthError);
    return (e as TrainingHealthError).kind;
  }
}

describe('HealthMonitor', () => {
  it('87.3 is −ln(FLT_MIN)', () => expect(LOSS_UNDERFLOW).toBeCloseTo(87.3365, 3));

  it('names non-finite losses and gradients', () => {
    const m = new HealthMonitor(10);
    expect(kindOf(() => m.check(ok))).toBeNull();
    expect(kindOf(() => m.check({ ...ok, loss: NaN }))).toBe('non-finite');
    expect(kindOf(() => m.check({ ...ok, gradNorm: Infinity }))).toBe('non-finite');
  });

  it('names the jump to 87.3', () => {
    const m = new HealthMonitor(10);
    expect(kindOf(() => m.check({ ...ok, loss: 80 }))).toBeNull();
    expect(kindOf(() => m.check({ ...ok, loss: 87.34 }))).toBe('underflow-87');
  });

  it('declares a collapse only after the loss sat at ln(C) for the whole window, and mentions ‖x‖ → 0', () => {
    const m = new HealthMonitor(249, { stuckWindow: 5 });
    const lnC = Math.log(249);
    for (let i = 1; i <= 4; i++) expect(kindOf(() => m.check({ ...ok, iteration: i, loss: lnC, featureNorm: 0.02 }))).toBeNull();
    expect(kindOf(() => m.check({ ...ok, iteration: 5, loss: 2 }))).toBeNull(); // a healthy step resets the count
    for (let i = 6; i <= 9; i++) m.check({ ...ok, iteration: i, loss: lnC * 1.01, featureNorm: 0.02 });
    expect(() => m.check({ ...ok, iteration: 10, loss: lnC, featureNorm: 0.02 })).toThrow(/ln\(C\) = 5\.517 for 5 iterations.*features collapsed/);
  });
});
