import type * as tf from '@tensorflow/tfjs-core';
import { ValueError, type SafetensorsContents, type SafetensorsDtype } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import { choiceFlag, listFlag, positionals, stringFlag } from './flag-values.js';
import { loadWeights } from './load-weights.js';

/** The float dtypes `--dtype` can ask for. */
export type ConvertDtype = 'f32' | 'f16' | 'bf16';

const DTYPES: Record<ConvertDtype, SafetensorsDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const FLOATS: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16'];

/** A `--rename OLD=NEW` rule: keys starting with `from` get `to` in its place. */
export interface RenameRule {
  from: string;
  to: string;
}

/** Options of {@link convertTensors}. */
export interface ConvertOptions {
  /** Target dtype of every float tensor; default: keep F32/F16/BF16, F64 becomes F32. */
  dtype?: ConvertDtype;
  /** Removed from the start of every key that has it (e.g. `module.` of DataParallel). */
  prefixStrip?: string;
  /** Prefix renames, applied in order after `prefixStrip`. */
  renames?: readonly RenameRule[];
}

/** What {@link convertTensors} decided per key: new name, stored dtype and the source dtype. */
export interface ConvertedEntry {
  from: string;
  to: string;
  sourceDtype: SafetensorsDtype;
  dtype: SafetensorsDtype;
  shape: number[];
}

/**
 * Plans a conversion: new key names (prefix strip, then each rename rule; a rule that matches no
 * key or two keys that end with one name are ValueErrors) and the file dtype of every tensor
 * (floats → `dtype` if given, F64 → F32 since tfjs has no float64; integers and bool keep theirs).
 * Reads only names, dtypes and shapes; never disposes anything.
 */
export function convertTensors(contents: SafetensorsContents, options: ConvertOptions = {}): ConvertedEntry[] {
  const { dtype, prefixStrip, renames = [] } = options;
  const used = new Set<number>();
  const entries = [...contents.tensors].map(([key, t]): ConvertedEntry => {
    let to = prefixStrip && key.startsWith(prefixStrip) ? key.slice(prefixStrip.length) : key;
    renames.forEach((rule, i) => {
      if (to.startsWith(rule.from)) {
        to = rule.to + to.slice(rule.from.length);
        used.add(i);
      }
    });
    const source = contents.dtypes.get(key) ?? 'F32';
    const isFloat = FLOATS.includes(source);
    const target = isFloat ? (dtype ? DTYPES[dtype] : source === 'F64' ? 'F32' : source) : source;
    return { from: key, to, sourceDtype: source, dtype: target, shape: t.shape };
  });
  renames.forEach((rule, i) => {
    if (!used.has(i)) throw new ValueError(`convert: --rename ${rule.from}=${rule.to} matches no key`);
  });
  const seen = new Map<string, string>();
  for (const e of entries) {
    const other = seen.get(e.to);
    if (other !== undefined) throw new ValueError(`convert: keys ${JSON.stringify(other)} and ${JSON.stringify(e.from)} would both be named ${JSON.stringify(e.to)}`);
    if (e.to === '') throw new ValueError(`convert: key ${JSON.stringify(e.from)} would get an empty name`);
    seen.set(e.to, e.from);
  }
  return entries;
}

function parseRenames(values: string[]): RenameRule[] {
  return values.map((v) => {
    const at = v.indexOf('=');
    if (at <= 0) throw new UsageError(`residual convert: --rename must be OLD=NEW with a non-empty OLD, got ${JSON.stringify(v)}`);
    return { from: v.slice(0, at), to: v.slice(at + 1) };
  });
}

async function runConvert(ctx: CommandContext): Promise<void> {
  const [input, output] = positionals(ctx, 'convert', 'IN OUT', 2);
  const dtype = choiceFlag<ConvertDtype>(ctx, 'convert', 'dtype', ['f32', 'f16', 'bf16']);
  const renames = parseRenames(listFlag(ctx, 'rename'));
  const prefixStrip = stringFlag(ctx, 'convert', 'prefix-strip');
  await ctx.initBackend();
  const loaded = await loadWeights(input, 'input');
  try {
    const plan = convertTensors(loaded, { dtype, renames, prefixStrip });
    const tensors = new Map<string, tf.Tensor>(plan.map((e) => [e.to, loaded.tensors.get(e.from) as tf.Tensor]));
    const dtypes = Object.fromEntries(plan.map((e) => [e.to, e.dtype]));
    await saveSafetensors(output, tensors, { dtypes, metadata: loaded.metadata });
    const parameters = plan.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
    if (ctx.common.json) {
      ctx.printJson({
        input,
        output,
        format: loaded.format,
        ...(loaded.source ? { source: loaded.source } : {}),
        parameters,
        tensors: plan.map(({ from, to, sourceDtype, dtype: d, shape }) => ({ from, to, sourceDtype, dtype: d, shape })),
      });
      return;
    }
    const from = loaded.format === 'torch' ? `torch checkpoint${loaded.source ? ` (under "${loaded.source}")` : ''}` : 'safetensors';
    ctx.print(`${input} (${from}) → ${output}: ${plan.length} tensors, ${parameters} values`);
    const renamed = plan.filter((e) => e.from !== e.to).length;
    const recast = plan.filter((e) => e.dtype !== e.sourceDtype).length;
    if (renamed > 0) ctx.note(`renamed ${renamed} keys`);
    if (recast > 0) ctx.note(`changed the dtype of ${recast} tensors`);
  } finally {
    for (const t of loaded.tensors.values()) t.dispose();
  }
}

/** `residual convert IN OUT`: safetensors or torch .pth/.pt → safetensors, with renames and dtypes. */
export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert weights: torch .pth/.pt or safetensors → safetensors (rename keys, change dtypes)',
  help: `Usage: residual convert IN OUT [--dtype f32|f16|bf16] [--rename OLD=NEW ...] [--prefix-strip PREFIX]

Reads IN (a safetensors file, or a PyTorch checkpoint written by torch.save with torch ≥ 1.6:
a state dict, or a dict holding one under "state_dict" or "model") and writes OUT as
safetensors, atomically. The checkpoint is read without Python; its pickle may only hold tensors,
storages and OrderedDicts: anything else is refused, nothing in it is executed.

Flags:
  --dtype f32|f16|bf16     store every float tensor in this dtype (default: keep F32/F16/BF16;
                           F64 becomes F32); integer and bool tensors keep their dtype
  --rename OLD=NEW         keys starting with OLD start with NEW instead (repeatable, in order)
  --prefix-strip PREFIX    remove PREFIX from the start of every key (e.g. module.)

Example:
  residual convert mae_pretrain_vit_base.pth mae.safetensors --dtype f16`,
  options: {
    dtype: { type: 'string' },
    rename: { type: 'string', multiple: true },
    'prefix-strip': { type: 'string' },
  },
  run: runConvert,
};
