export type { Backbone, FeatureMaps, FeatureSpec } from './feature-maps.js';
export type { ExtraFpnBlock } from './extra-fpn-block.js';
export { FeaturePyramidNetwork, type FeaturePyramidNetworkOptions } from './feature-pyramid-network.js';
export { LastLevelMaxPool } from './last-level-max-pool.js';
export { LastLevelP6P7 } from './last-level-p6p7.js';
export { IntermediateLayerGetter } from './intermediate-layer-getter.js';
export { BackboneWithFPN } from './backbone-with-fpn.js';
export { resnetFpnBackbone, type ResnetFpnBackboneOptions } from './resnet-fpn-backbone.js';
export { nearestSourceIndices, upsampleNearest } from './nearest-upsample.js';
