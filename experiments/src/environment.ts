import * as tf from '@tensorflow/tfjs';
import { cpus, totalmem } from 'node:os';

export interface EnvironmentInfo {
  node: string;
  platform: string;
  cpu: { model: string; cores: number };
  memoryGiB: number;
  tfjs: string;
}

export function environmentInfo(): EnvironmentInfo {
  const list = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: list[0]?.model.trim() ?? 'unknown', cores: list.length },
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    tfjs: tf.version.tfjs,
  };
}
