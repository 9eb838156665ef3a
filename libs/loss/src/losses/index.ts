// Importing a loss file registers it. One line per file in this folder (a test checks none is missing).
export * from './a-softmax';
export * from './a-softmax-normfea';
export * from './arcface';
export * from './combined';
export * from './cosface';
export * from './l-softmax';
export * from './normface';
export * from './softmax';
