// Node-only entry `@residual/mae/node`: checkpoint directories and PNG grids (file IO, sharp),
// which the browser-safe main entry leaves out.
export { MaeCheckpointDir, type MaeCheckpointDirOptions } from './checkpoint-dir.js';
export { writeReconstructionGrid } from './write-reconstruction-grid.js';
