import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape, type LayerNorm, type Linear } from '@residual/core';
import type { Attention } from './attention.js';
import type { Mlp } from './mlp.js';

/** The parts of a {@link Block} the fused pass reads (borrowed). */
export interface FusedBlockParts {
  norm1: LayerNorm;
  attn: Attention;
  norm2: LayerNorm;
  mlp: Mlp;
}

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * One pre-norm block, `y = x + proj(attn(norm1(x)))`, `z = y + fc2(gelu(fc1(norm2(y))))`, as a single
 * tf.customGrad node with a hand-written backward, for blocks without active dropout or drop path.
 *
 * Why: tfjs tapes every op, keeps a copy of each saved input (on wasm `clone` copies: Linear weights
 * too) and keeps the gradient of every intermediate until the whole backward ends. For one block that
 * is ~70 activation-sized tensors plus three attention maps plus a copy of each weight. Here the tape
 * holds one node per block that saves x, the qkv heads, the attention probabilities, the merged heads,
 * y and the MLP pre-activation (~10 activation-sized tensors and one attention map); LayerNorm outputs
 * and the GELU are recomputed in the backward, whose temporaries are freed per block.
 *
 * The forward runs the same ops as the modules, so values are bit-identical to the op-by-op path;
 * the backward is the chain rule of those ops (LayerNorm, softmax and exact-erf GELU derivatives as
 * torch's). Tokens [B, N, D] → [B, N, D]; caller owns the result.
 */
export function fusedBlockForward(parts: FusedBlockParts, x: tf.Tensor3D): tf.Tensor3D {
  const { norm1, attn, norm2, mlp } = parts;
  if (x.rank !== 3 || x.shape[2] !== attn.dim) {
    throw new ShapeError(`Block.forward: x must be [B,N,${attn.dim}], got ${formatShape(x.shape)}`);
  }
  const [b, n, d] = x.shape;
  const { numHeads: heads, headDim, scale } = attn;
  const hidden = mlp.fc1.outFeatures;
  // Inputs of the node: x, then every parameter, so tf.variableGrads finds their gradients here.
  const params = [norm1.weight, norm1.bias, attn.qkv.weight, attn.qkv.bias, attn.proj.weight, attn.proj.bias,
    norm2.weight, norm2.bias, mlp.fc1.weight, mlp.fc1.bias, mlp.fc2.weight, mlp.fc2.bias];
  const present = params.filter((p): p is tf.Variable => p !== null);
  const node = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor3D;
    const qkv = tf.transpose(tf.reshape(attn.qkv.forward(norm1.forward(input)), [b, n, 3, heads, headDim]), [2, 0, 3, 1, 4]);
    // qkv: [3, B, heads, N, headDim]
    const [q, k, v] = tf.unstack(qkv);
    const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)); // [B, heads, N, N]
    const merged = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [b, n, d]); // [B, N, D]
    const y = tf.add(input, attn.proj.forward(merged));
    const h = mlp.fc1.forward(norm2.forward(y)); // [B, N, hidden], before the GELU
    const z = tf.add(y, mlp.fc2.forward(mlp.act.forward(h)));
    save([input, qkv, probs, merged, y, h]);
    return {
      value: z,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => blockBackward(parts, dz, saved, { b, n, d, heads, headDim, scale, hidden })),
    };
  });
  return node(x, ...present) as tf.Tensor3D;
}

interface Dims {
  b: number;
  n: number;
  d: number;
  heads: number;
  headDim: number;
  scale: number;
  hidden: number;
}

// Gradients of [x, ...present parameters] in the order fusedBlockForward passes them.
function blockBackward(parts: FusedBlockParts, dzIn: tf.Tensor, saved: tf.Tensor[], dims: Dims): tf.Tensor[] {
  const { norm1, attn, norm2, mlp } = parts;
  const { b, n, d, heads, headDim, scale, hidden } = dims;
  const rows = b * n;
  const [x, qkv, probs, merged, y, h] = saved;
  const dz = tf.reshape(dzIn, [rows, d]);
  const grads = new Map<tf.Variable | null, tf.Tensor>();

  // z = y + fc2(gelu(h)), h = fc1(norm2(y))
  const h2 = tf.reshape(h, [rows, hidden]);
  const g = tf.reshape(mlp.act.forward(h), [rows, hidden]);
  linearBackward(mlp.fc2, g, dz, grads);
  const dg = tf.matMul(dz, mlp.fc2.weight, false, true); // [rows, hidden]
  // d/dh of h·Φ(h) (exact GELU): Φ(h) + h·φ(h)
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(h2, Math.SQRT1_2)), 1), 0.5);
  const pdf = tf.div(tf.exp(tf.mul(tf.square(h2), -0.5)), SQRT_2PI);
  const dh = tf.mul(dg, tf.add(cdf, tf.mul(h2, pdf)));
  const y2 = tf.reshape(y, [rows, d]);
  const { xhat: yhat, rstd: rstd2 } = normalize(norm2, y2);
  linearBackward(mlp.fc1, affine(norm2, yhat), dh, grads);
  const dc = tf.matMul(dh, mlp.fc1.weight, false, true); // [rows, D]
  const dy = tf.add(dz, layerNormBackward(norm2, dc, yhat, rstd2, grads));

  // y = x + proj(merged), merged = heads of softmax(q·kᵀ·scale)·v
  const merged2 = tf.reshape(merged, [rows, d]);
  linearBackward(attn.proj, merged2, dy, grads);
  const dMerged = tf.transpose(tf.reshape(tf.matMul(dy, attn.proj.weight, false, true), [b, n, heads, headDim]), [0, 2, 1, 3]);
  // dMerged: [B, heads, N, headDim]
  const [q, k, v] = tf.unstack(qkv);
  const dProbs = tf.matMul(dMerged, v, false, true); // [B, heads, N, N]
  const dv = tf.matMul(probs, dMerged, true, false);
  // softmax: dlogits = p·(dp − Σ dp·p), then the scale of the logits
  const dLogits = tf.mul(tf.mul(probs, tf.sub(dProbs, tf.sum(tf.mul(dProbs, probs), -1, true))), scale);
  const dq = tf.matMul(dLogits, k);
  const dk = tf.matMul(dLogits, q, true, false);
  // back to the Linear's [B, N, 3, heads, headDim] order, the inverse of the forward permutation
  const dQkv = tf.reshape(tf.transpose(tf.stack([dq, dk, dv]), [1, 3, 0, 2, 4]), [rows, 3 * d]);
  const x2 = tf.reshape(x, [rows, d]);
  const { xhat, rstd } = normalize(norm1, x2);
  linearBackward(attn.qkv, affine(norm1, xhat), dQkv, grads);
  const da = tf.matMul(dQkv, attn.qkv.weight, false, true);
  const dx = tf.reshape(tf.add(dy, layerNormBackward(norm1, da, xhat, rstd, grads)), [b, n, d]);

  const order = [norm1.weight, norm1.bias, attn.qkv.weight, attn.qkv.bias, attn.proj.weight, attn.proj.bias,
    norm2.weight, norm2.bias, mlp.fc1.weight, mlp.fc1.bias, mlp.fc2.weight, mlp.fc2.bias];
  return [dx, ...order.filter((p) => p !== null).map((p) => grads.get(p) as tf.Tensor)];
}

// Linear y = x·W + b on rows [R, in] (tfjs layout W [in, out]): dW = xᵀ·dy, db = Σ dy.
function linearBackward(linear: Linear, input: tf.Tensor, dy: tf.Tensor, grads: Map<tf.Variable | null, tf.Tensor>): void {
  grads.set(linear.weight, tf.matMul(input, dy, true, false));
  if (linear.bias) grads.set(linear.bias, tf.sum(dy, 0));
}

// The normalised rows and 1/σ, with LayerNorm.forward's ops (tf.moments, biased variance).
function normalize(norm: LayerNorm, x: tf.Tensor): { xhat: tf.Tensor; rstd: tf.Tensor } {
  const { mean, variance } = tf.moments(x, -1, true);
  const rstd = tf.rsqrt(tf.add(variance, norm.eps));
  return { xhat: tf.mul(tf.sub(x, mean), rstd), rstd };
}

function affine(norm: LayerNorm, xhat: tf.Tensor): tf.Tensor {
  return norm.weight && norm.bias ? tf.add(tf.mul(xhat, norm.weight), norm.bias) : xhat;
}

// dx of LayerNorm from dout [R, D]: (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = dout·γ; dγ, dβ into grads.
function layerNormBackward(
  norm: LayerNorm,
  dout: tf.Tensor,
  xhat: tf.Tensor,
  rstd: tf.Tensor,
  grads: Map<tf.Variable | null, tf.Tensor>,
): tf.Tensor {
  let dxhat = dout;
  if (norm.weight && norm.bias) {
    grads.set(norm.weight, tf.sum(tf.mul(dout, xhat), 0));
    grads.set(norm.bias, tf.sum(dout, 0));
    dxhat = tf.mul(dout, norm.weight);
  }
  const centred = tf.sub(dxhat, tf.mean(dxhat, -1, true));
  return tf.mul(tf.sub(centred, tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))), rstd);
}
