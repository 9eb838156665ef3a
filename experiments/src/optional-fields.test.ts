import { contentHash } from '@sphereface/common';
import { listModels } from '@sphereface/models';
import { describe, expect, it } from 'vitest';
import { ConfigError, OPTIONAL_FIELDS, PROFILES, validateConfig, type ExperimentConfig } from './config';
import { EXPERIMENTS, getExperiment, resolveConfig } from './definitions';

// The optional config fields of the controlled full-width runs (issue #15) and the cpu-full profile.

/** The fields this test covers: the value their absence means (the authors' Caffe choice) and a valid other value. */
const FIELDS: Array<{ path: string; absent: unknown; defaultSet: string; other: string; otherValue: unknown }> = [
  { path: 'data.jpegDecoder', absent: 'jpeg-js', defaultSet: 'jpeg-js', other: 'libjpeg-turbo', otherValue: 'libjpeg-turbo' },
  { path: 'model.xavier', absent: 'fan-in', defaultSet: 'fan-in', other: 'fan-avg', otherValue: 'fan-avg' },
  { path: 'trainer.biasLrMult', absent: 2, defaultSet: '2', other: '1', otherValue: 1 },
  { path: 'trainer.biasDecayMult', absent: 0, defaultSet: '0', other: '1', otherValue: 1 },
  { path: 'trainer.momentumStyle', absent: 'caffe', defaultSet: 'caffe', other: 'pytorch', otherValue: 'pytorch' },
];

const resolve = (overrides: string[] = [], profile: (typeof PROFILES)[number] = 'cpu') => resolveConfig('table3', 'a-softmax-m4', profile, 0, overrides);
const valueAt = (config: unknown, path: string) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
const has = (config: unknown, path: string) => {
  const keys = path.split('.');
  const parent = valueAt(config, keys.slice(0, -1).join('.')) as Record<string, unknown> | undefined;
  return parent !== undefined && Object.prototype.hasOwnProperty.call(parent, keys[keys.length - 1]);
};

describe('optional config fields', () => {
  it('are declared with the value their absence means', () => {
    expect(OPTIONAL_FIELDS).toMatchObject(Object.fromEntries(FIELDS.map((f) => [f.path, f.absent])));
  });

  it('are absent from every built-in config (so the configs, and run IDs, recorded before them are unchanged)', () => {
    for (const profile of PROFILES) {
      for (const e of EXPERIMENTS) {
        for (const v of e.variants) {
          const config = resolveConfig(e.name, v.name, profile, 0);
          for (const { path } of FIELDS) expect(has(config, path), `${e.name}/${v.name} at ${profile} has ${path}`).toBe(false);
        }
      }
    }
  });

  for (const f of FIELDS) {
    it(`--set ${f.path}=${f.other} is accepted although the config has no such field, validates and makes another config`, () => {
      const config = validateConfig(resolve([`${f.path}=${f.other}`]), listModels());
      expect(valueAt(config, f.path)).toEqual(f.otherValue);
      const plain = resolve();
      expect(contentHash(config)).not.toBe(contentHash(plain));
      // Nothing else moved.
      const keys = f.path.split('.');
      const parent = valueAt(config, keys.slice(0, -1).join('.')) as Record<string, unknown>;
      delete parent[keys[keys.length - 1]];
      expect(config).toEqual(plain);
    });

    it(`a default spelled out (--set ${f.path}=${f.defaultSet}) resolves to exactly the config without it`, () => {
      const plain = resolve();
      for (const sets of [[`${f.path}=${f.defaultSet}`], [`${f.path}=${JSON.stringify(f.absent)}`], [`${f.path}=${f.other}`, `${f.path}=${f.defaultSet}`]]) {
        const config = resolve(sets);
        expect(config, sets.join(' ')).toEqual(plain);
        expect(has(config, f.path), sets.join(' ')).toBe(false);
        expect(contentHash(config), sets.join(' ')).toBe(contentHash(plain));
      }
    });
  }

  it('a default spelled out resolves to the config without it at every profile and for every experiment', () => {
    const defaults = FIELDS.map((f) => `${f.path}=${f.defaultSet}`);
    for (const profile of PROFILES) {
      for (const e of EXPERIMENTS) {
        for (const v of e.variants) expect(resolveConfig(e.name, v.name, profile, 3, defaults), `${e.name}/${v.name} at ${profile}`).toEqual(resolveConfig(e.name, v.name, profile, 3));
      }
    }
  });

  it('the five together validate (a controlled run: PyTorch choices throughout)', () => {
    const config = validateConfig(resolve(FIELDS.map((f) => `${f.path}=${f.other}`), 'cpu-full'), listModels());
    for (const f of FIELDS) expect(valueAt(config, f.path)).toEqual(f.otherValue);
  });

  it('unknown fields are still rejected, including near-misses and optional names under another parent', () => {
    for (const path of ['model.xavierr', 'model.Xavier', 'trainer.momentum_style', 'trainer.xavier', 'data.train.jpegDecoder', 'data.test.jpegDecoder', 'model.momentumStyle', 'jpegDecoder']) {
      expect(() => resolve([`${path}=1`]), path).toThrow(new RegExp(`^override '${path.replace(/\./g, '\\.')}=1': no field '${path.replace(/\./g, '\\.')}' in the config$`));
    }
    // Below an optional field that is absent: it is not an object to set fields in.
    expect(() => resolve(['model.xavier.mode=fan-avg'])).toThrow(/no field 'model\.xavier'/);
  });

  // validateConfig's message: `config <path>: <what>; got <value> (<kind>)`.
  const invalid: Array<[string, string, RegExp]> = [
    ['model.xavier=fan-out', 'model.xavier', /^config model\.xavier: must be 'fan-in' or 'fan-avg'; got "fan-out" \(string\)$/],
    ['model.xavier=null', 'model.xavier', /^config model\.xavier: must be 'fan-in' or 'fan-avg'; got null$/],
    ['trainer.momentumStyle=nesterov', 'trainer.momentumStyle', /^config trainer\.momentumStyle: must be 'caffe' or 'pytorch'; got "nesterov" \(string\)$/],
    ['trainer.momentumStyle=1', 'trainer.momentumStyle', /^config trainer\.momentumStyle: must be 'caffe' or 'pytorch'; got 1 \(number\)$/],
    ['data.jpegDecoder=libjpeg', 'data.jpegDecoder', /^config data\.jpegDecoder: must be one of jpeg-js, libjpeg-turbo; got "libjpeg" \(string\)$/],
    ['data.jpegDecoder=["jpeg-js"]', 'data.jpegDecoder', /^config data\.jpegDecoder: must be one of jpeg-js, libjpeg-turbo; got \["jpeg-js"\] \(array\)$/],
    ['trainer.biasLrMult=-1', 'trainer.biasLrMult', /^config trainer\.biasLrMult: must be ≥ 0; got -1 \(number\)$/],
    ['trainer.biasLrMult="2"', 'trainer.biasLrMult', /^config trainer\.biasLrMult: must be ≥ 0; got "2" \(string\)$/],
    ['trainer.biasLrMult=1e999', 'trainer.biasLrMult', /^config trainer\.biasLrMult: must be ≥ 0; got /], // JSON.parse gives Infinity
    ['trainer.biasDecayMult=-0.5', 'trainer.biasDecayMult', /^config trainer\.biasDecayMult: must be ≥ 0; got -0\.5 \(number\)$/],
    ['trainer.biasDecayMult=true', 'trainer.biasDecayMult', /^config trainer\.biasDecayMult: must be ≥ 0; got true \(boolean\)$/],
  ];
  it.each(invalid)('--set %s: a ConfigError naming %s', (set, path, message) => {
    let error: unknown;
    try {
      validateConfig(resolve([set]), listModels());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
    expect((error as Error).message).toMatch(message);
  });
});

describe("the 'cpu-full' profile", () => {
  const table3 = getExperiment('table3');

  it('is a profile', () => {
    expect(PROFILES).toContain('cpu-full');
  });

  it.each(table3.variants.map((v) => v.name))('table3/%s resolves and validates: SphereFace-4 at full width, 1,820 iterations, lr ÷10 at 50 % and 75 %, clip 5', (variant) => {
    const config = validateConfig(resolveConfig('table3', variant, 'cpu-full', 1), listModels());
    const cpu = resolveConfig('table3', variant, 'cpu', 1);
    expect(config).toMatchObject({ experiment: 'table3', variant, profile: 'cpu-full', seed: 1 });
    expect(config.model).toEqual({ name: 'sphereface4', widthMultiplier: 1, embeddingDim: 512 });
    expect(config.trainer).toEqual({ ...cpu.trainer, iterations: 1820, lrSteps: [910, 1365], clipGradNorm: 5 });
    expect(config.trainer.lrSteps).toEqual([0.5 * 1820, 0.75 * 1820]);
    expect([config.trainer.batchSize, config.trainer.learningRate, config.trainer.momentum, config.trainer.weightDecay]).toEqual([64, 0.1, 0.9, 5e-4]);
    // The cpu profile's data (56×48 crops of the CelebA subset, full LFW protocol), loss and evaluation.
    expect(config.data).toEqual(cpu.data);
    expect(config.data.crop).toEqual([56, 48]);
    expect(config.loss).toEqual(cpu.loss);
    expect(config.evaluation).toEqual(cpu.evaluation);
    // Caffe's choices by absence, so controlled runs differ from it by the fields they set.
    for (const { path } of FIELDS) expect(has(config, path), path).toBe(false);
    expect(contentHash(config)).not.toBe(contentHash({ ...cpu, profile: 'cpu-full' } as ExperimentConfig));
  });

  it('a misspelt profile is a ConfigError naming the profiles', () => {
    const config = { ...resolveConfig('table3', 'softmax', 'cpu-full', 0), profile: 'cpu_full' } as unknown as ExperimentConfig;
    expect(() => validateConfig(config, listModels())).toThrow(/^config profile: must be one of smoke, cpu, cpu-full, paper; got "cpu_full" \(string\)$/);
  });
});
