// The trainer's checkpointable generator is the shared mulberry32.
export { Mulberry32 as Rng } from '@sphereface/common';
