import { contentHash } from '@sphereface/common';
import { listModels } from '@sphereface/models';
import { describe, expect, it } from 'vitest';
import { ConfigError, PROFILES, validateConfig } from './config';
import { EXPERIMENTS, resolveConfig } from './definitions';

describe('experiment configs', () => {
  it('every variant of every experiment resolves to a valid config of its own at every profile', () => {
    for (const profile of PROFILES) {
      // The paper profile's training set is named by a path (--train-data): without one it is a ConfigError (below).
      const data = profile === 'paper' ? ['data.train.path="/data/CASIA-WebFace"', 'data.train.landmarks="/data/casia_landmark.txt"'] : [];
      for (const e of EXPERIMENTS) {
        const byVariant = new Map<string, string>();
        for (const v of e.variants) {
          const config = validateConfig(resolveConfig(e.name, v.name, profile, 0, data), listModels());
          expect(config).toMatchObject({ experiment: e.name, variant: v.name, profile, seed: 0, model: v.model ?? {} });
          expect(config.loss.name).toBe(v.loss.name);
          // Two variants with the same settings would be one run recorded under two names.
          const settings = contentHash({ ...config, variant: null });
          expect(byVariant.get(settings), `${e.name}/${v.name} at ${profile} resolves to the same config as another variant`).toBeUndefined();
          byVariant.set(settings, v.name);
        }
        expect(byVariant.size).toBe(e.variants.length);
      }
    }
    expect(() => validateConfig(resolveConfig('table3', 'softmax', 'paper', 0), listModels())).toThrow(/data\.train\.path: the casia_webface training set is named by a path: pass --train-data PATH/);
  });

  it('names the offending field', () => {
    const good = resolveConfig('table3', 'a-softmax-m4', 'smoke', 0);
    const bad = (patch: object) => () => validateConfig({ ...good, ...patch } as never, listModels());
    expect(bad({ seed: -1 })).toThrow(ConfigError);
    expect(bad({ seed: 1.5 })).toThrow(/config seed:/);
    expect(bad({ model: { ...good.model, name: 'resnet50' } })).toThrow(/config model.name: unknown model/);
    expect(bad({ loss: { name: 'a-softmax', options: { m: 0 } } })).toThrow(/config loss\.options: a-softmax: option 'm' must be an integer.*; got \{"m":0\}/);
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
    // A path through a field that is not an object (seed is a number) names that field instead of a TypeError.
    expect(() => resolveConfig('table3', 'a-softmax-m4', 'cpu', 0, ['seed.x=1'])).toThrow(/^override 'seed\.x=1': 'seed' is 0, not an object with fields, so it has no field 'x'$/);
  });

  it('a --set of the wrong type names the path, what was expected and what was given', () => {
    const run = (set: string) => () => validateConfig(resolveConfig('table3', 'a-softmax-m4', 'cpu', 0, [set]), listModels());
    expect(run('data=1')).toThrow(/^config data: expected an object with fields train, test, crop; got 1 \(number\)$/);
    expect(run('data.train=null')).toThrow(/^config data\.train: expected an object with fields dataset, minImagesPerIdentity, maxIdentities, mirror; got null$/);
    expect(run('trainer=[]')).toThrow(/^config trainer: expected an object with fields batchSize, .*; got \[\] \(array\)$/);
    expect(run('evaluation.protocols="canonical"')).toThrow(/^config evaluation\.protocols: expected an array, a subset of canonical, .*; got "canonical" \(string\)$/);
    expect(run('trainer.batchSize=0')).toThrow(/^config trainer\.batchSize: must be an integer ≥ 1; got 0 \(number\)$/);
    expect(run('loss.options={"lambda":"fast"}')).toThrow(
      /^config loss\.options\.lambda: expected a number ≥ 0 \(a fixed λ\) or an object with any of base, gamma, power, lambdaMin \(a schedule\); got "fast" \(string\)$/,
    );
    expect(run('loss.options.lambda={"base":"high"}')).toThrow(/^config loss\.options\.lambda\.base: expected a finite number ≥ 0; got "high" \(string\)$/);
    expect(run('loss.options.lambda={"gama":1}')).toThrow(/^config loss\.options\.lambda\.gama: expected one of base, gamma, power, lambdaMin/);
    expect(run('loss.options.m="4"')).toThrow(/^config loss\.options\.m: expected a number \(default 4\); got "4" \(string\)$/);
    expect(run('loss.options={"mm":4}')).toThrow(/^config loss\.options\.mm: a-softmax has no such option; options: m, lambda, gradient/);
    expect(run('loss=1')).toThrow(/^config loss: expected an object with fields name, options; got 1 \(number\)$/);
    expect(run('loss.name="a-softmx"')).toThrow(/^config loss\.name: unknown margin loss; registered: a-softmax, .*; got "a-softmx" \(string\)$/);
  });

  it('rejects unknown experiments and variants with the known names', () => {
    expect(() => resolveConfig('table9', 'x', 'smoke', 0)).toThrow(/defined: table3, losses, depth, toy/);
    expect(() => resolveConfig('table3', 'm5', 'smoke', 0)).toThrow(/variants: softmax, a-softmax-m1/);
  });
});
