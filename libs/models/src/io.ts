import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@sphereface/common';
import { join } from 'node:path';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/**
 * A tf.io handler that saves to / loads from a folder (model.json + weights.bin) with plain node:fs — the
 * `file://` scheme is only provided by tfjs-node, which cannot install here.
 */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      mkdirSync(dir, { recursive: true });
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      // Weights first: model.json names them, so it must only appear once they are complete.
      writeFileAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weightData));
      writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const path = join(dir, MODEL_JSON);
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(readFileSync(path, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`fileSystemHandler: cannot read ${path}: ${(e as Error).message}`);
      }
      const manifest = json.weightsManifest ?? [];
      const buffers = manifest.flatMap((group) =>
        group.paths.map((p) => {
          const b = readFileSync(join(dir, p));
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        }),
      );
      return tf.io.getModelArtifactsForJSON(json, async () => [manifest.flatMap((g) => g.weights), tf.io.CompositeArrayBuffer.join(buffers)]);
    },
  };
}
