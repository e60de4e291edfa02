import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, type SafetensorsContents } from '@residual/core';
import { useBackend } from '@residual/test-utils';
import { fixture, runCli, tempDir } from './run-cli.js';

const read = (file: string): SafetensorsContents => readSafetensors(new Uint8Array(fs.readFileSync(file)));
const dispose = (c: SafetensorsContents): void => c.tensors.forEach((t) => t.dispose());

/** The values of every tensor, for exact comparison. */
function values(c: SafetensorsContents): Record<string, number[]> {
  return Object.fromEntries([...c.tensors].map(([k, t]) => [k, [...t.dataSync()]]));
}

describe('residual convert', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend();
  });
  beforeEach(() => {
    dir = tempDir();
  });

  it.each([
    ['tiny_conv.pth', 'tiny_conv', 'torch checkpoint'],
    ['checkpoint.pth', 'checkpoint', 'torch checkpoint (under "model")'],
    ['views.pth', 'views', 'torch checkpoint'],
  ])('converts %s to safetensors with the values torch saved', async (file, expectedName, described) => {
    const out = path.join(dir, 'out.safetensors');
    const before = tf.memory().numTensors;
    const { code, stdout, stderr } = await runCli(['convert', fixture('pth', file), out, '--backend', 'wasm']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(tf.memory().numTensors).toBe(before);
    const expected = read(fixture('pth', `${expectedName}.expected.safetensors`));
    const got = read(out);
    expect(stdout).toBe(`${fixture('pth', file)} (${described}) → ${out}: ${got.tensors.size} tensors, ${[...got.tensors.values()].reduce((n, t) => n + t.size, 0)} values\n`);
    expect(Object.fromEntries(got.dtypes)).toEqual(Object.fromEntries(expected.dtypes));
    expect(values(got)).toEqual(values(expected));
    expect(got.metadata).toEqual({ format: 'pt' });
    dispose(expected);
    dispose(got);
  });

  it('keeps every dtype, except float64, which becomes float32', async () => {
    const out = path.join(dir, 'dtypes.safetensors');
    expect((await runCli(['convert', fixture('pth', 'dtypes.pth'), out])).code).toBe(0);
    const got = read(out);
    expect(Object.fromEntries(got.dtypes)).toEqual({
      f16: 'F16', bf16: 'BF16', f64: 'F32', i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8', u8: 'U8', bool: 'BOOL',
    });
    const expected = read(fixture('pth', 'dtypes.expected.safetensors'));
    expect(values(got)).toEqual(values(expected)); // F64 was already rounded to float32 on reading
    dispose(expected);
    dispose(got);
  });

  it('strips a prefix, renames keys and stores floats as f16, and converts back exactly', async () => {
    const half = path.join(dir, 'half.safetensors');
    const run1 = await runCli(['convert', fixture('pth', 'tiny_conv.pth'), half, '--dtype', 'f16', '--prefix-strip', 'bn.', '--rename', 'conv.=stem.', '--rename', 'fc=head', '--json']);
    expect(run1.code).toBe(0);
    const report = JSON.parse(run1.stdout) as { tensors: Array<{ from: string; to: string; dtype: string; sourceDtype: string }> };
    expect(report.tensors.map((t) => [t.from, t.to, t.sourceDtype, t.dtype])).toEqual([
      ['conv.weight', 'stem.weight', 'F32', 'F16'],
      ['conv.bias', 'stem.bias', 'F32', 'F16'],
      ['bn.weight', 'weight', 'F32', 'F16'],
      ['bn.bias', 'bias', 'F32', 'F16'],
      ['bn.running_mean', 'running_mean', 'F32', 'F16'],
      ['bn.running_var', 'running_var', 'F32', 'F16'],
      ['bn.num_batches_tracked', 'num_batches_tracked', 'I64', 'I64'],
      ['fc.weight', 'head.weight', 'F32', 'F16'],
      ['fc.bias', 'head.bias', 'F32', 'F16'],
    ]);
    const back = path.join(dir, 'back.safetensors');
    const run2 = await runCli(['convert', half, back, '--dtype', 'f32', '--rename', 'stem.=conv.', '--quiet']);
    expect(run2).toEqual({ code: 0, stdout: `${half} (safetensors) → ${back}: 9 tensors, 139 values\n`, stderr: '' });
    const source = read(fixture('pth', 'tiny_conv.expected.safetensors'));
    const got = read(back);
    expect(got.dtypes.get('conv.weight')).toBe('F32');
    const w = source.tensors.get('conv.weight') as tf.Tensor;
    // f16 keeps 11 significant bits: each value is the source rounded to half precision.
    const rounded = tf.tidy(() => tf.cast(w, 'float32').arraySync()) as number[][][][];
    const halfOf = (x: number): number => {
      const e = Math.floor(Math.log2(Math.abs(x)));
      const step = 2 ** (Math.max(e, -14) - 10);
      return Math.round(x / step) * step; // ties cannot occur for these float32 values
    };
    expect([...(got.tensors.get('conv.weight') as tf.Tensor).dataSync()]).toEqual(rounded.flat(3).map(halfOf));
    expect([...(got.tensors.get('num_batches_tracked') as tf.Tensor).dataSync()]).toEqual([8]); // 7, plus the training step of cli_pth.py
    dispose(source);
    dispose(got);
  });

  it('notes renames and dtype changes on stderr unless --quiet', async () => {
    const out = path.join(dir, 'o.safetensors');
    const { stderr } = await runCli(['convert', fixture('pth', 'tiny_conv.pth'), out, '--rename', 'fc.=head.', '--dtype', 'bf16']);
    expect(stderr).toBe('renamed 2 keys\nchanged the dtype of 8 tensors\n');
  });

  it('refuses a checkpoint that pickles a function, with exit code 1 and no output file', async () => {
    const out = path.join(dir, 'evil.safetensors');
    expect(await runCli(['convert', fixture('pth', 'system.pth'), out])).toEqual({
      code: 1,
      stdout: '',
      stderr: `residual convert: readTorchCheckpoint: ${fixture('pth', 'system.pth')} pickles the global "posix.system", which is refused: only tensors, storages and OrderedDicts are read (nothing in the file is executed)\n`,
    });
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('explains the legacy format', async () => {
    const { code, stderr } = await runCli(['convert', fixture('pth', 'legacy.pth'), path.join(dir, 'x.safetensors')]);
    expect(code).toBe(1);
    expect(stderr).toBe(`residual convert: readTorchCheckpoint: ${fixture('pth', 'legacy.pth')} is in torch's unsupported legacy format (torch < 1.6); re-save it with torch ≥ 1.6\n`);
  });

  it('reports a corrupt safetensors input through core', async () => {
    const bad = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(bad, Buffer.from([1, 2, 3]));
    const { code, stderr } = await runCli(['convert', bad, path.join(dir, 'x.safetensors')]);
    expect(code).toBe(1);
    expect(stderr).toBe('residual convert: readSafetensors: file is 3 bytes, shorter than the 8-byte header length\n');
  });

  it('refuses a rename that matches no key, and names colliding keys', async () => {
    const input = fixture('pth', 'tiny_conv.pth');
    const out = path.join(dir, 'x.safetensors');
    expect((await runCli(['convert', input, out, '--rename', 'layer9.=x.'])).stderr).toBe('residual convert: convert: --rename layer9.=x. matches no key\n');
    expect((await runCli(['convert', input, out, '--rename', 'conv.=fc.'])).stderr).toBe(
      'residual convert: convert: keys "conv.weight" and "fc.weight" would both be named "fc.weight"\n',
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('checks its arguments before touching any file (exit code 2)', async () => {
    expect((await runCli(['convert', 'in.pth'])).stderr.split('\n')[0]).toBe('residual convert: expected 2 arguments (IN OUT), got 1');
    expect((await runCli(['convert', 'a', 'b', '--dtype', 'f8'])).stderr.split('\n')[0]).toBe(
      'residual convert: --dtype must be one of f32, f16, bf16, got "f8"',
    );
    const bad = await runCli(['convert', 'a', 'b', '--rename', 'nothing']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('residual convert: --rename must be OLD=NEW with a non-empty OLD, got "nothing"');
  });
});
