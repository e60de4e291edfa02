import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@residual/core/node';
import { expectNoLeak, useBackend } from '@residual/test-utils';

let dir: string;

beforeAll(async () => {
  await useBackend();
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-safetensors-'));
});

afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const files = () => fs.readdirSync(dir).sort();

describe('saveSafetensors / loadSafetensors', () => {
  it('saves tensors and loads them back with dtypes and metadata', async () => {
    await expectNoLeak(async () => {
      const target = path.join(dir, 'model.safetensors');
      const w = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
      const steps = tf.scalar(9, 'int32');
      await saveSafetensors(target, { w, 'bn.num_batches_tracked': steps }, { metadata: { epoch: '3' } });
      const { tensors, dtypes, metadata } = await loadSafetensors(target);
      expect(Array.from(tensors.get('w')?.dataSync() as Float32Array)).toEqual([1, 2, 3, 4.5]);
      expect(Object.fromEntries(dtypes)).toEqual({ w: 'F32', 'bn.num_batches_tracked': 'I64' });
      expect(metadata).toEqual({ epoch: '3' });
      expect(files()).toEqual(['model.safetensors']);
      tf.dispose([w, steps]);
      return tensors;
    });
  });

  it('replaces an existing file and keeps its permission bits', async () => {
    const target = path.join(dir, 'model.safetensors');
    fs.writeFileSync(target, 'old');
    fs.chmodSync(target, 0o640);
    const w = tf.ones([3]);
    await saveSafetensors(target, { w });
    w.dispose();
    const { tensors } = await loadSafetensors(target);
    expect(tensors.get('w')?.shape).toEqual([3]);
    tf.dispose([...tensors.values()]);
    expect(fs.statSync(target).mode & 0o777).toBe(0o640);
    expect(files()).toEqual(['model.safetensors']);
  });

  it('leaves the old file intact and writes nothing when a tensor fails to encode', async () => {
    const target = path.join(dir, 'model.safetensors');
    fs.writeFileSync(target, 'old contents');
    const big = tf.tensor1d([1000], 'int32');
    await expect(saveSafetensors(target, { big }, { dtypes: { big: 'I8' } })).rejects.toThrow(
      new ValueError('writeSafetensors: "big" value 1000 at index 0 does not fit I8 (integers -128..127)'),
    );
    big.dispose();
    expect(fs.readFileSync(target, 'utf8')).toBe('old contents');
    expect(files()).toEqual(['model.safetensors']);
  });

  it('rejects a malformed file with the reader\'s ValueError', async () => {
    const target = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(target, Buffer.from([1, 2, 3]));
    await expect(loadSafetensors(target)).rejects.toThrow(
      new ValueError('readSafetensors: file is 3 bytes, shorter than the 8-byte header length'),
    );
  });
});

describe('writeFileAtomic', () => {
  it('writes the bytes and leaves no temporary file', async () => {
    const target = path.join(dir, 'out.bin');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...fs.readFileSync(target)]).toEqual([1, 2, 3]);
    expect(files()).toEqual(['out.bin']);
  });

  it('removes the temporary file and keeps the old one when the rename fails', async () => {
    const target = path.join(dir, 'out.bin');
    fs.writeFileSync(target, 'old');
    const rename = jest.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: simulated'), { code: 'EIO' }));
    await expect(writeFileAtomic(target, new Uint8Array([1, 2, 3]))).rejects.toThrow('EIO: simulated');
    expect(rename).toHaveBeenCalledTimes(1);
    expect(path.dirname(rename.mock.calls[0][0] as string)).toBe(dir); // the temp file lives beside the target
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(files()).toEqual(['out.bin']);
  });

  it('removes the temporary file when the data cannot be made durable (fsync fails)', async () => {
    const target = path.join(dir, 'out.bin');
    fs.writeFileSync(target, 'old');
    const open = fsp.open;
    jest.spyOn(fsp, 'open').mockImplementationOnce(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await open(...args);
      jest.spyOn(handle, 'sync').mockRejectedValueOnce(new Error('ENOSPC: simulated'));
      return handle;
    });
    await expect(writeFileAtomic(target, new Uint8Array([1, 2, 3]))).rejects.toThrow('ENOSPC: simulated');
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(files()).toEqual(['out.bin']);
  });

  it('fails with Node\'s error and leaves no temporary file when the target is a directory', async () => {
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    await expect(writeFileAtomic(target, new Uint8Array([1]))).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(files()).toEqual(['taken']);
    expect(fs.readdirSync(target)).toEqual(['keep']);
  });

  it('fails with ENOENT when the directory does not exist', async () => {
    await expect(writeFileAtomic(path.join(dir, 'missing', 'out.bin'), new Uint8Array([1]))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(files()).toEqual([]);
  });
});
