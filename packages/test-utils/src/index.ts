export { expectNoLeak, countTensors } from './leak.js';
export { expectAllClose, maxAbsDiff } from './close.js';
export { loadFixture, fixturePath } from './fixture.js';
export { useBackend } from './backend.js';
