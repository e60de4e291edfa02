import { Conv2d, type Generator } from '@residual/core';

/** Options of {@link conv3x3}. */
export interface Conv3x3Options {
  stride?: number;
  groups?: number;
  dilation?: number;
  generator?: Generator;
}

/**
 * torchvision's `conv3x3`: bias-free 3×3 Conv2d with padding = dilation (so stride 1 keeps H×W).
 * NHWC in and out; the module owns its weight.
 */
export function conv3x3(inPlanes: number, outPlanes: number, options: Conv3x3Options = {}): Conv2d {
  const dilation = options.dilation ?? 1;
  return new Conv2d(inPlanes, outPlanes, 3, {
    stride: options.stride ?? 1,
    padding: dilation,
    dilation,
    groups: options.groups ?? 1,
    bias: false,
    generator: options.generator,
  });
}

/** torchvision's `conv1x1`: bias-free 1×1 Conv2d (a strided one samples x[::s, ::s]). NHWC in and out. */
export function conv1x1(inPlanes: number, outPlanes: number, options: { stride?: number; generator?: Generator } = {}): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride: options.stride ?? 1, bias: false, generator: options.generator });
}
