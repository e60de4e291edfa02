// The detection formula weights live in @residual/test-utils (shared with faster-rcnn / mask-rcnn).
export { formulaTensor, loadFormulaWeights, phase, NoDrawGenerator, type KeyList } from '@residual/test-utils';
