import { ValueError } from '../errors.js';

/**
 * Output length of a torch pooling window along one axis (ATen pooling_output_shape):
 * ⌊(in + 2p − d(k−1) − 1 [+ s − 1 with ceilMode]) / s⌋ + 1, minus one when ceilMode would start
 * the last window inside the right padding.
 */
export function poolOutputSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** torch's rule: padding at most half the kernel (else a window could hold only padding). */
export function checkPoolPadding(kernel: readonly number[], padding: readonly number[], where: string): void {
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2) {
    throw new ValueError(
      `${where}: padding must be at most half the kernel size, got padding [${padding.join(', ')}] for kernel [${kernel.join(', ')}]`,
    );
  }
}
