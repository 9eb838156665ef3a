import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from './config';
import { EXPERIMENTS, getExperiment, profileBase } from './definitions';
import { listRecords, readRecord, scanRecords } from './record';
import { citeBibtex, exportModelIndex, filterRecords, formatBenchmark, formatDiff, formatResults, formatShow } from './report';
import { repositoryRoot } from './paths';
import { recordCodeStatus } from './code-identity';
import type { RunRecord } from './record';
import { writeReportFigures, writeReproductionReport } from './docs';

/**
 * `--train-data` and `--train-landmarks` as config overrides (absolute paths, JSON strings): data.train.path and
 * .landmarks, and data.train.dataset 'path' unless the profile already names a set by path (paper: casia_webface).
 */
export function trainDataOverrides(profile: Profile, trainData: string | undefined, trainLandmarks: string | undefined): string[] {
  if (trainData === undefined) {
    if (trainLandmarks !== undefined) throw new UsageError('--train-landmarks goes with --train-data');
    return [];
  }
  const named = profileBase(profile).data.train.dataset;
  return [
    ...(named === 'casia_webface' || named === 'path' ? [] : ['data.train.dataset=path']),
    `data.train.path=${JSON.stringify(resolve(trainData))}`,
    ...(trainLandmarks !== undefined ? [`data.train.landmarks=${JSON.stringify(resolve(trainLandmarks))}`] : []),
  ];
}

/** Each command's synopsis and what it does; `sphereface --help` lists them, `sphereface <command> --help` prints one. */
const COMMANDS: Record<string, { synopsis: string; help: string }> = {
  run: {
    synopsis:
      '<experiment> [--variant V | --all] [--profile smoke|cpu|cpu-full|paper] [--seed N] [--train-data PATH [--train-landmarks FILE]] ' +
      '[--set path=value ...] [--force]',
    help: `train, extract LFW features, evaluate, write a run record (a recorded run ID is replayed, not retrained)

  <experiment>        table3, losses, depth or toy (\`sphereface list\` shows their variants)
  --variant V         one variant (default: the experiment's default variant)
  --all               every variant; the others still run when one fails, and failures are listed at the end
  --profile P         smoke (seconds), cpu (the reduced scale, default), cpu-full (SphereFace-4 at full width,
                      minutes) or paper (CASIA-WebFace recipe: needs --train-data and a GPU backend)
  --seed N            the seed of data order, initialisation and augmentation (default 0)
  --train-data PATH   train on your own data: an identity-folder tree (CASIA-WebFace's 0000045/001.jpg), the same
                      tree as a .zip (read in place), or an insightface RecordIO folder (train.rec + train.idx);
                      recorded as data.train.path, which is not part of the run ID (the images' content is)
  --train-landmarks F the tree's 5-point landmark file (SphereFace's relpath<TAB>label<TAB>x1<TAB>y1 … format, or
                      the project's); without it the images are taken as aligned crops
  --set path=value    change one config field, e.g. --set trainer.iterations=200 (recorded; changes the run ID)
  --force             train again from scratch even when the run ID is recorded (earlier attempts' checkpoints and log go)`,
  },
  sweep: {
    synopsis:
      '<experiment> [--variants a,b | --all] [--seeds 0-4] [--profile P] [--set path=value ...] --engine slurm|local [--parallel N] ' +
      '[--partition P] [--account A] [--time T] [--mem M] [--cpus-per-task N] [--gres G] [--dry-run]  |  sweep status [<job>]',
    help: `run a grid (variants × seeds) as one Slurm array job or here; recorded run IDs are skipped

  <experiment>        table3, losses, depth or toy
  --variants a,b      the variants (default: the experiment's default variant)
  --all               every variant
  --seeds 0-4         the seeds: a range, a list (0,2,5) or both (default 0)
  --profile P         smoke, cpu (default), cpu-full or paper
  --train-data PATH, --train-landmarks F
                      the training set of every cell, as for \`run\`
  --set path=value    change one config field in every cell (recorded; changes the run IDs)
  --engine slurm      write one sbatch array job, a task per cell that is not recorded (nor queued by an earlier
                      sweep), each running \`sphereface run\` with this artifacts folder, records folder and data
                      root; submit it and print the job ID and how to watch it
  --engine local      run the cells here, one at a time or --parallel N at once
  --parallel N        local: runs at once; slurm: at most N tasks of the array at once (--array=0-n%N)
  --partition, --account, --time, --mem, --cpus-per-task, --gres
                      passed to sbatch as #SBATCH lines
  --dry-run           write the sweep and its job script, submit or run nothing
  status [<job>]      each cell of a sweep (by job ID or sweep ID; default the newest): recorded, failed (the
                      health check's diagnosis or the task's exit and error), running, pending, or stopped
                      (cancelled, preempted, timed out: submitting the sweep again resumes it from its checkpoint)`,
  },
  eval: {
    synopsis:
      '<run-id> --benchmark PATH [--benchmark PATH ...] [--force]  |  eval --model DIR --input HxW --normalise sphereface|insightface|unit ' +
      '[--template sphereface-96x112|insightface-112x112] --benchmark PATH [...] [--ytf-frames N] [--force]',
    help: `evaluate a recorded run's model, or a published tfjs model, on insightface verification sets (.bin) and YouTube Faces

  <run-id>            a recorded run (a unique prefix will do): its backbone from the artifacts folder, its crop size,
                      SphereFace's template and normalisation; the results are added to its record as benchmark
                      protocols <name>/canonical, <name>/sum-fusion-l2, … (the run ID does not change)
  --benchmark PATH    an insightface verification .bin (lfw.bin, cfp_fp.bin, agedb_30.bin, …), named by its stem; pair
                      i = images 2i, 2i+1, 10 folds of consecutive pairs, the same four protocols as LFW. The images
                      (112×112, insightface's alignment) are cut to the model's crop: the centre 112×96 for
                      SphereFace's template (resized for a smaller crop such as 56×48), the whole image for a square one.
                      Or a YouTube Faces root (splits.txt, frame_images_DB/), named ytf: each frame's face box resized to
                      the crop, protocol ytf/ytf-video-mean (the mean of a video's frame features, splits.txt's folds)
  --ytf-frames N      YTF: at most N frames per video, evenly spaced (default: every frame)
  --model DIR         instead of a run: a tfjs model folder (model.json + weights), a LayersModel or a GraphModel
  --input HxW         the model's input height × width, e.g. 112x96 or 112x112 (with --model)
  --normalise N       pixel normalisation (with --model): sphereface (p−127.5)/128, insightface (p/255−0.5)/0.5, unit p/255
  --template T        the alignment the model expects (with --model): sphereface-96x112, or insightface-112x112
                      (default: insightface-112x112 for a square input, else sphereface-96x112)
  --force             evaluate again even when this evaluation (model, data hash, crop, code, backend) is recorded;
                      a published model's results go to <records>/evaluations/<evaluation-id>.json`,
  },
  list: { synopsis: '', help: 'the experiments and their variants' },
  results: {
    synopsis: '[--experiment E] [--variant V] [--profile P]',
    help: 'a table of recorded runs, filtered by experiment, variant or profile',
  },
  show: { synopsis: '<run-id>', help: 'one run in full: config, training, LFW protocols, verification metrics, environment' },
  diff: { synopsis: '<run-a> <run-b>', help: 'config, protocol, metrics and environment of two runs side by side' },
  cite: { synopsis: '<run-id>', help: 'a BibTeX entry for the run (and the paper it reproduces)' },
  export: { synopsis: '--format model-index', help: 'Papers-with-Code model-index YAML of all runs' },
  report: {
    synopsis: '[--check]',
    help: 'regenerate docs/reproduction.md and docs/figures from the records (--check: fail if the report is stale)',
  },
};

const USAGE = `usage: sphereface <command> [options]   (sphereface <command> --help for one command)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${`${name} ${c.synopsis}`.trimEnd()}\n      ${c.help.split('\n')[0]}`)
  .join('\n')}
`;

function commandUsage(name: string): string {
  const c = COMMANDS[name];
  return `usage: sphereface ${name} ${c.synopsis}\n\n${c.help}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command && command in COMMANDS && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(commandUsage(command));
    return 0;
  }
  const root = repositoryRoot();
  const codeStatus = (record: RunRecord) => recordCodeStatus(record, root);
  try {
    switch (command) {
      case 'run': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            variant: { type: 'string' },
            all: { type: 'boolean', default: false },
            profile: { type: 'string', default: 'cpu' },
            seed: { type: 'string', default: '0' },
            force: { type: 'boolean', default: false },
            set: { type: 'string', multiple: true, default: [] },
            'train-data': { type: 'string' },
            'train-landmarks': { type: 'string' },
          },
        });
        if (positionals.length !== 1) throw new UsageError('run needs exactly one experiment name');
        const profile = profileOption(values.profile);
        const seed = Number(values.seed);
        if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be an integer ≥ 0');
        const definition = getExperiment(positionals[0]);
        const variants = values.all ? definition.variants.map((v) => v.name) : [values.variant ?? definition.defaultVariant];
        const { runExperiment } = await import('./runner');
        const overrides = [...trainDataOverrides(profile, values['train-data'], values['train-landmarks']), ...values.set];
        const run = async (variant: string) =>
          console.log(formatShow(await runExperiment({ root, experiment: definition.name, variant, profile, seed, overrides, force: values.force }), codeStatus));
        if (!values.all) {
          await run(variants[0]);
          return 0;
        }
        // --all: a failing variant does not stop the others; every failure is listed again at the end.
        const failures: string[] = [];
        for (const variant of variants) {
          try {
            await run(variant);
          } catch (error) {
            console.error(`sphereface: ${variant}: ${(error as Error).message}`);
            failures.push(`  ${variant}: ${(error as Error).message}`);
          }
        }
        if (failures.length === 0) return 0;
        console.error(`sphereface: ${failures.length} of ${variants.length} variants failed:\n${failures.join('\n')}`);
        return 1;
      }
      case 'sweep':
        return await sweepCommand(root, rest);
      case 'eval':
        return await evalCommand(root, rest);
      case 'list':
        for (const e of EXPERIMENTS) {
          console.log(`${e.name.padEnd(8)} ${e.title}\n         variants: ${e.variants.map((v) => v.name).join(', ')} (default ${e.defaultVariant})`);
        }
        return 0;
      case 'results': {
        const { values } = parseArgs({
          args: rest,
          options: { experiment: { type: 'string' }, variant: { type: 'string' }, profile: { type: 'string' } },
        });
        // A damaged record file does not hide the others: it is listed by its path after them.
        const { records, damaged } = scanRecords(root);
        console.log(formatResults(filterRecords(records, values), codeStatus));
        if (damaged.length === 0) return 0;
        console.log(damaged.map((d) => `${d.runId}  damaged record: ${d.error}`).join('\n'));
        console.error(`sphereface: ${damaged.length} record file(s) cannot be read: ${damaged.map((d) => d.path).join(', ')}`);
        return 1;
      }
      case 'show':
        console.log(formatShow(readRecord(root, required(rest[0], 'show needs a run ID')), codeStatus));
        return 0;
      case 'diff':
        console.log(formatDiff(readRecord(root, required(rest[0], 'diff needs two run IDs')), readRecord(root, required(rest[1], 'diff needs two run IDs'))));
        return 0;
      case 'cite':
        console.log(citeBibtex(readRecord(root, required(rest[0], 'cite needs a run ID'))));
        return 0;
      case 'export': {
        const { values } = parseArgs({ args: rest, options: { format: { type: 'string', default: 'model-index' } } });
        if (values.format !== 'model-index') throw new UsageError(`unknown export format '${values.format}'; supported: model-index`);
        process.stdout.write(exportModelIndex(listRecords(root)));
        return 0;
      }
      case 'report': {
        const { values } = parseArgs({ args: rest, options: { check: { type: 'boolean', default: false } } });
        const { path, upToDate } = writeReproductionReport(root, { check: values.check });
        if (values.check && !upToDate) {
          console.error(`${path} is stale: run \`npm run docs\` and commit it`);
          return 1;
        }
        console.log(values.check ? `${path} is up to date` : `wrote ${path}`);
        if (!values.check) for (const figure of await writeReportFigures(root)) console.log(`wrote ${figure}`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] && rest[0] in COMMANDS) {
          console.log(commandUsage(rest[0]));
          return 0;
        }
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`sphereface: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`sphereface: ${(error as Error).message}`);
    return 1;
  }
}

class UsageError extends Error {}

/** The --profile value, checked. */
function profileOption(value: string | undefined): Profile {
  if (!PROFILES.includes(value as Profile)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}`);
  return value as Profile;
}

async function sweepCommand(root: string, args: string[]): Promise<number> {
  const { sweep, sweepStatus, formatSweepStatus, parseSeeds } = await import('./sweep');
  if (args[0] === 'status') {
    const { positionals } = parseArgs({ args: args.slice(1), allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new UsageError('sweep status takes at most one job ID or sweep ID');
    const status = sweepStatus(root, positionals[0]);
    console.log(formatSweepStatus(status));
    return 0;
  }
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      variants: { type: 'string' },
      all: { type: 'boolean', default: false },
      seeds: { type: 'string', default: '0' },
      profile: { type: 'string', default: 'cpu' },
      set: { type: 'string', multiple: true, default: [] },
      engine: { type: 'string' },
      parallel: { type: 'string' },
      partition: { type: 'string' },
      account: { type: 'string' },
      time: { type: 'string' },
      mem: { type: 'string' },
      'cpus-per-task': { type: 'string' },
      gres: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'train-data': { type: 'string' },
      'train-landmarks': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('sweep needs exactly one experiment name (or `sweep status [<job>]`)');
  if (values.engine !== 'slurm' && values.engine !== 'local') throw new UsageError('sweep needs --engine slurm or --engine local');
  if (values.all && values.variants) throw new UsageError('sweep takes --variants or --all, not both');
  const profile = profileOption(values.profile);
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) throw new UsageError('--parallel must be an integer ≥ 1');
  let seeds: number[];
  try {
    seeds = parseSeeds(values.seeds);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const result = await sweep({
    root,
    experiment: positionals[0],
    variants: values.variants ? values.variants.split(',').map((v) => v.trim()).filter(Boolean) : [],
    all: values.all,
    seeds,
    profile,
    overrides: [...trainDataOverrides(profile, values['train-data'], values['train-landmarks']), ...values.set],
    engine: values.engine,
    parallel,
    dryRun: values['dry-run'],
    slurm: {
      partition: values.partition,
      account: values.account,
      time: values.time,
      mem: values.mem,
      cpusPerTask: values['cpus-per-task'],
      gres: values.gres,
    },
  });
  if (values.engine === 'local' && result.manifest && !values['dry-run']) console.log(formatSweepStatus(sweepStatus(root, result.manifest.id)));
  return result.failed.length === 0 ? 0 : 1;
}

async function evalCommand(root: string, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        benchmark: { type: 'string', multiple: true, default: [] },
        model: { type: 'string' },
        input: { type: 'string' },
        normalise: { type: 'string' },
        template: { type: 'string' },
        'ytf-frames': { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.benchmark.length === 0) throw new UsageError('eval needs at least one --benchmark PATH (an insightface verification .bin)');
  const { evaluatePublishedModel, evaluateRun, NORMALISATION_NAMES } = await import('./benchmark-eval');
  const ytfMaxFrames = values['ytf-frames'] === undefined ? null : Number(values['ytf-frames']);
  if (ytfMaxFrames !== null && !(Number.isInteger(ytfMaxFrames) && ytfMaxFrames >= 1)) throw new UsageError('--ytf-frames must be an integer ≥ 1');
  const options = { root, benchmarks: values.benchmark, force: values.force, ytfMaxFrames };
  if (values.model === undefined) {
    if (positionals.length !== 1) throw new UsageError('eval needs exactly one run ID, or --model DIR');
    const given = (['input', 'normalise', 'template'] as const).filter((k) => values[k] !== undefined);
    if (given.length) throw new UsageError(`--${given.join(', --')} go with --model: a run's crop, alignment and normalisation come from its record`);
    const { record, outcomes } = await evaluateRun(positionals[0], options);
    console.log(`run ${record.runId}: ${record.identity.config.experiment}/${record.identity.config.variant} (${record.identity.config.profile} profile, seed ${record.identity.config.seed})`);
    console.log(outcomes.flatMap((o) => formatBenchmark(o.entry)).join('\n'));
    return 0;
  }
  if (positionals.length !== 0) throw new UsageError('eval takes a run ID or --model DIR, not both');
  const size = /^(\d+)x(\d+)$/.exec(values.input ?? '');
  if (!size || Number(size[1]) < 8 || Number(size[2]) < 8) throw new UsageError('--model needs --input HxW, the model\'s input height and width in pixels, e.g. 112x96 or 112x112');
  const normalise = values.normalise;
  if (!NORMALISATION_NAMES.includes(normalise as never)) throw new UsageError(`--model needs --normalise ${NORMALISATION_NAMES.join('|')}`);
  const template = values.template;
  if (template !== undefined && template !== 'sphereface-96x112' && template !== 'insightface-112x112') {
    throw new UsageError('--template must be sphereface-96x112 or insightface-112x112');
  }
  const outcomes = await evaluatePublishedModel(
    { dir: values.model, input: [Number(size[1]), Number(size[2])], normalise: normalise as (typeof NORMALISATION_NAMES)[number], template },
    options,
  );
  for (const o of outcomes) console.log([`evaluation ${o.entry.evaluationId}: ${o.path}`, ...formatBenchmark(o.entry)].join('\n'));
  return 0;
}

function required(value: string | undefined, message: string): string {
  if (!value) throw new UsageError(message);
  return value;
}
