import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '@residual/core';
import { readTorchCheckpoint, type RawTensor } from './torch-checkpoint.js';

const dir = path.join(__dirname, '..', 'test', 'fixtures', 'pth');
const bytesOf = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, name)));

/** The expected tensors as raw bytes, read straight from the safetensors layout (no decoding). */
function expectedRaw(name: string): Map<string, RawTensor> {
  const bytes = bytesOf(`${name}.expected.safetensors`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: RawTensor['dtype']; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, RawTensor>();
  for (const [key, e] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    out.set(key, { dtype: e.dtype, shape: e.shape, data: bytes.slice(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) });
  }
  return out;
}

function expectSameTensors(actual: Map<string, RawTensor>, expected: Map<string, RawTensor>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, e] of expected) {
    const a = actual.get(key) as RawTensor;
    expect({ key, dtype: a.dtype, shape: a.shape }).toEqual({ key, dtype: e.dtype, shape: e.shape });
    expect(Buffer.from(a.data).equals(Buffer.from(e.data))).toBe(true);
  }
}

describe('readTorchCheckpoint', () => {
  it.each([
    ['tiny_conv.pth', 'tiny_conv', ''],
    ['checkpoint.pth', 'checkpoint', 'model'],
    ['wrapped.pth', 'wrapped', 'state_dict'],
    ['views.pth', 'views', ''],
    ['dtypes.pth', 'dtypes', ''],
    ['protocol4.pth', 'tiny_conv', ''],
    ['deflate.pth', 'tiny_conv', ''],
  ])('reads %s bit for bit as torch wrote it', (file, expected, source) => {
    const checkpoint = readTorchCheckpoint(bytesOf(file), file);
    expect(checkpoint.source).toBe(source);
    expectSameTensors(checkpoint.tensors, expectedRaw(expected));
  });

  it('keeps the state dict order of the pickle', () => {
    const { tensors } = readTorchCheckpoint(bytesOf('tiny_conv.pth'), 'tiny_conv.pth');
    expect([...tensors.keys()]).toEqual([
      'conv.weight',
      'conv.bias',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
      'fc.weight',
      'fc.bias',
    ]);
  });

  it('refuses a pickled function, naming the global', () => {
    expect(() => readTorchCheckpoint(bytesOf('function.pth'), 'function.pth')).toThrow(
      new ValueError(
        'readTorchCheckpoint: function.pth pickles the global "__main__.helper", which is refused: only tensors, storages and OrderedDicts are read (nothing in the file is executed)',
      ),
    );
  });

  it('refuses an os.system payload before anything could run', () => {
    expect(() => readTorchCheckpoint(bytesOf('system.pth'), 'system.pth')).toThrow(
      'readTorchCheckpoint: system.pth pickles the global "posix.system", which is refused',
    );
  });

  it('names the legacy format and how to fix it', () => {
    expect(() => readTorchCheckpoint(bytesOf('legacy.pth'), 'legacy.pth')).toThrow(
      new ValueError("readTorchCheckpoint: legacy.pth is in torch's unsupported legacy format (torch < 1.6); re-save it with torch ≥ 1.6"),
    );
  });

  it('refuses a view that reads past its storage', () => {
    expect(() => readTorchCheckpoint(bytesOf('overread.pth'), 'overread.pth')).toThrow(
      new ValueError('readTorchCheckpoint: overread.pth: a tensor of size [9], stride [1] at offset 0 reads past its storage of 2 values'),
    );
  });

  it('refuses bytes that are not a checkpoint', () => {
    expect(() => readTorchCheckpoint(new TextEncoder().encode('hello world'), 'x.pth')).toThrow(
      new ValueError('readTorchCheckpoint: x.pth is not a PyTorch zip checkpoint (no zip signature)'),
    );
  });

  it('reports a truncated file', () => {
    const bytes = bytesOf('tiny_conv.pth');
    expect(() => readTorchCheckpoint(bytes.subarray(0, bytes.length - 200), 'cut.pth')).toThrow(
      new ValueError('readZip: cut.pth has no end-of-central-directory record (truncated or not a zip file)'),
    );
  });

  it('reports corrupt storage bytes through the CRC', () => {
    const bytes = bytesOf('tiny_conv.pth').slice();
    const storage = (expectedRaw('tiny_conv').get('conv.weight') as RawTensor).data; // storage 0
    const at = Buffer.from(bytes).indexOf(Buffer.from(storage)) + 5;
    bytes[at] ^= 0xff;
    expect(() => readTorchCheckpoint(bytes, 'flip.pth')).toThrow(/^readZip: flip\.pth entry "tiny_conv\/data\/0" fails its CRC-32 check \(corrupt file\)$/);
  });
});
