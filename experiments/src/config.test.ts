import { listModels } from '@sphereface/models';
import { describe, expect, it } from 'vitest';
import { ConfigError, PROFILES, validateConfig } from './config';
import { EXPERIMENTS, resolveConfig } from './definitions';

describe('experiment configs', () => {
  it('every variant of every experiment resolves and validates at every profile', () => {
    let count = 0;
    for (const e of EXPERIMENTS) {
      for (const v of e.variants) {
        for (const profile of PROFILES) {
          expect(() => validateConfig(resolveConfig(e.name, v.name, profile, 0), listModels())).not.toThrow();
          count++;
        }
      }
    }
    expect(count).toBe(EXPERIMENTS.reduce((n, e) => n + e.variants.length, 0) * PROFILES.length);
  });

  it('names the offending field', () => {
    const good = resolveConfig('table3', 'a-softmax-m4', 'smoke', 0);
    const bad = (patch: object) => () => validateConfig({ ...good, ...patch } as never, listModels());
    expect(bad({ seed: -1 })).toThrow(ConfigError);
    expect(bad({ seed: 1.5 })).toThrow(/config seed:/);
    expect(bad({ model: { ...good.model, name: 'resnet50' } })).toThrow(/config model.name: unknown model/);
    expect(bad({ loss: { name: 'a-softmax', options: { m: 0 } } })).toThrow(/config loss: .*integer/);
    expect(bad({ trainer: { ...good.trainer, lrSteps: [5, 3] } })).toThrow(/trainer.lrSteps/);
    expect(bad({ data: { ...good.data, test: { ...good.data.test, pairsPerFold: 601 } } })).toThrow(/pairsPerFold/);
  });

  it('records every loss option with its default, including the authors’ λ schedule', () => {
    for (const profile of PROFILES) {
      const config = resolveConfig('table3', 'a-softmax-m4', profile, 0);
      expect(config.loss.options).toEqual({ m: 4, gradient: 'exact', lambda: { base: 1000, gamma: 0.12, power: 1, lambdaMin: 5 } });
    }
  });

  it('applies path=value overrides, parsed as JSON, and rejects unknown paths', () => {
    const config = resolveConfig('table3', 'a-softmax-m4', 'cpu', 0, ['trainer.iterations=200', 'loss.options.lambda=7', 'data.crop=[28,24]']);
    expect(config.trainer.iterations).toBe(200);
    expect(config.loss.options.lambda).toBe(7);
    expect(config.data.crop).toEqual([28, 24]);
    expect(() => resolveConfig('table3', 'a-softmax-m4', 'cpu', 0, ['trainer.iters=200'])).toThrow(/no field 'trainer.iters'/);
    expect(() => resolveConfig('table3', 'a-softmax-m4', 'cpu', 0, ['trainer.iterations'])).toThrow(/path=value/);
  });

  it('rejects unknown experiments and variants with the known names', () => {
    expect(() => resolveConfig('table9', 'x', 'smoke', 0)).toThrow(/defined: table3, losses, depth, toy/);
    expect(() => resolveConfig('table3', 'm5', 'smoke', 0)).toThrow(/variants: softmax, a-softmax-m1/);
  });
});
