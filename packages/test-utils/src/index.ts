export { expectNoLeak, countTensors } from './leak.js';
export { expectAllClose, maxAbsDiff } from './close.js';
export { loadFixture, fixturePath, openFixture, type Fixture } from './fixture.js';
export { useBackend } from './backend.js';
export { formulaTensor, loadFormulaWeights, phase, NoDrawGenerator, type KeyList } from './detection-formula-weights.js';
