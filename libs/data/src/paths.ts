import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetMissingError } from './errors';

export type DatasetName = 'lfw' | 'celeba_subset' | 'att_faces';
export const DATASET_NAMES: readonly DatasetName[] = ['lfw', 'celeba_subset', 'att_faces'];

/** sha256 of the text files that define each dataset, to check a copy obtained elsewhere. */
export const KNOWN_FILES: Record<DatasetName, Record<string, string>> = {
  lfw: {
    'pairs.txt': 'ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592',
    'people.txt': 'bc8fa2b7f25c895cf7efb6de4f4fc27ca8b8d1cfa63350ad8b96eae2b198d365',
    'pairsDevTrain.txt': '1d454dada7dfeca0e7eab6f65dc4e97a6312d44cf142207be28d688be92aabfa',
    'pairsDevTest.txt': '7cb06600ea8b2814ac26e946201cdb304296262aad67d046a16a7ec85d0ff87c',
    'peopleDevTrain.txt': '2e58df13ba4cc143189336e001cc2c195f1dfa5b29a6475c02857be353c2a2fa',
    'peopleDevTest.txt': 'c3ed1f90499473401542101a56c14c1d82396bb8218c67a356d7460601047555',
    'lfw-names.txt': '403cd39411ee297f99f69241959bd8f0496b44377711913a76ccdd8562874164',
    'landmarks/lfw_landmark.txt': 'e517ec9b03232baaf10c7d5f82f0df6f500bb6cca1ead1126642cd42ff3ad039',
    'landmarks/lfw_landmark_150.txt': '1ad10832f149e923a67927a1d3939a429baf7ed0bcdb8521544a504885c92f08',
    'landmarks/lfw_landmark_150_dlib.txt': '15f72f976a51656399af8cd5e345bb81ec52f209ad4258eaf045335a9064d033',
  },
  celeba_subset: {
    'landmarks/landmark_150.txt': '33ecd4a927bf90171bdc522a2fd8a0330ca9ae86f76b6fc76f2cf5e8d9b01030',
    'known_duplicates.tsv': '373bb85d8ad6d8c596391bdadd375448bc8ec097cbb3239a58ca73e8baf51eb5',
    'crop_info.tsv': '224d24fe3f34513549db59cd79315627978b4d6918845d6ebf434aea01305490',
  },
  att_faces: {
    README: 'b9d1fc5ad47c7223383eab53ae92f6c2a8178230382c72803d912704ee0a6cb7',
  },
};

const HOW_TO_OBTAIN: Record<DatasetName, string> = {
  lfw: [
    'LFW (Labeled Faces in the Wild, http://vis-www.cs.umass.edu/lfw/):',
    '  images_150/<Name>/<Name>_<NNNN>.jpg: the LFW website\'s 150x150 copies of the raw images',
    '    (repository umass-vis-lfw/umass-vis-lfw.github.io, commit 2a620cd8cceb10430f8c7012fe9fa5f0837759e9, folder images/);',
    '  pairs.txt, people.txt, pairsDevTrain.txt, pairsDevTest.txt, peopleDevTrain.txt, peopleDevTest.txt, lfw-names.txt:',
    '    the official protocol files from the same site;',
    '  landmarks/lfw_landmark.txt: clcarwin/sphereface_pytorch data/lfw_landmark.txt (250x250 coordinates);',
    '    landmarks/lfw_landmark_150.txt is that file with every coordinate multiplied by 0.6.',
  ].join('\n'),
  celeba_subset: [
    'CelebA subset (identities 7201-7499, re-cropped to the LFW 150x150 frame, dlib 5-point landmarks):',
    '  images_150/<identity>/<file>.jpg, landmarks/landmark_150.txt, known_duplicates.tsv, crop_info.tsv.',
    '  Built from the CelebA in-the-wild images (http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html); non-commercial research use only.',
  ].join('\n'),
  att_faces: [
    'AT&T (ORL) Database of Faces: s1..s40/1.pgm..10.pgm (92x112 grey P5 PGM) and README,',
    '  as distributed by AT&T Laboratories Cambridge (att_faces.zip).',
  ].join('\n'),
};

/** The monorepo root: the nearest folder above this file whose package.json declares workspaces. */
export function repoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && 'workspaces' in JSON.parse(readFileSync(pkg, 'utf8'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json with "workspaces" above ${start}`);
  }
}

export interface DataRoot {
  path: string;
  /** Which rule chose it: the SPHEREFACE_DATA variable, ../shared/data beside the repo, or ./data in it. */
  source: 'env' | 'shared' | 'local';
}

/** Data root: $SPHEREFACE_DATA, else <repo>/../shared/data when it exists, else <repo>/data. */
export function resolveDataRoot(env: NodeJS.ProcessEnv = process.env, root: string = repoRoot()): DataRoot {
  if (env.SPHEREFACE_DATA) return { path: resolve(env.SPHEREFACE_DATA), source: 'env' };
  const shared = resolve(root, '..', 'shared', 'data');
  if (existsSync(shared)) return { path: shared, source: 'shared' };
  return { path: resolve(root, 'data'), source: 'local' };
}

/** Folder of one dataset; a DatasetMissingError says what is missing and how to obtain it. */
export function datasetDir(name: DatasetName, dataRoot: DataRoot = resolveDataRoot()): string {
  const dir = join(dataRoot.path, name);
  const manifest = join(dir, 'MANIFEST.sha256');
  if (existsSync(manifest)) return dir;
  const files = Object.entries(KNOWN_FILES[name]).map(([f, h]) => `    ${f}  sha256 ${h}`);
  throw new DatasetMissingError(
    [
      `dataset '${name}' not found: ${manifest} does not exist`,
      `(data root ${dataRoot.path}, chosen by ${dataRoot.source === 'env' ? '$SPHEREFACE_DATA' : dataRoot.source === 'shared' ? '../shared/data beside the repo' : './data in the repo'};`,
      ' set SPHEREFACE_DATA to a folder holding lfw/, celeba_subset/, att_faces/ to use another copy).',
      HOW_TO_OBTAIN[name],
      `  Expected text files and their sha256:`,
      ...files,
      `  Then write ${name}/MANIFEST.sha256 with: cd ${name} && find . -type f ! -name MANIFEST.sha256 | sed 's|^./||' | sort | xargs sha256sum > MANIFEST.sha256`,
    ].join('\n'),
  );
}

/** The repo's cache folder (gitignored), independent of the data root. */
export function cacheDir(...parts: string[]): string {
  return join(repoRoot(), '.cache', 'sphereface-data', ...parts);
}
