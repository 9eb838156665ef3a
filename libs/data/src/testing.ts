// `@sphereface/data/testing`: the generated-data writers of this package's tests, for other packages' tests (the
// experiments' end-to-end runs on generated training sets). Not part of the library's API; nothing outside tests imports it.
export { type GeneratedFaces, generateFaces } from './test-images';
export { type Fixture, casiaFixture, projectLines, sphereFaceLines, tinyJpeg, writeZip } from './sources/test-fixtures';
