import { ValueError, type SafetensorsDtype } from '@residual/core';
import { PyDict, isGlobal, unpickle } from './pickle-machine.js';
import { ZipArchive } from './zip-archive.js';

/** One tensor of a torch checkpoint: contiguous little-endian bytes in its own dtype, torch layout. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** What {@link readTorchCheckpoint} found: the state dict and where in the pickle it was. */
export interface TorchCheckpoint {
  tensors: Map<string, RawTensor>;
  /** `''` for a bare state dict, else the top-level key it sat under (`'model'`, `'state_dict'`). */
  source: string;
}

/** torch's legacy storage classes → safetensors dtype (the file's element type). */
const STORAGES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};
const SIZES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const ALLOWED = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'];
/** Keys a checkpoint may wrap its state dict under, in the order they are tried. */
const WRAPPERS = ['state_dict', 'model'];

/** The dtype of a storage class name; own keys only, so "constructor" is not a storage. */
function storageDtype(name: string): SafetensorsDtype | undefined {
  return Object.hasOwn(STORAGES, name) ? STORAGES[name] : undefined;
}

/** A storage record of the archive: `numel` values of `dtype`, little-endian bytes. */
class Storage {
  constructor(
    readonly dtype: SafetensorsDtype,
    readonly bytes: Uint8Array,
    readonly numel: number,
  ) {}
}

const WHERE = 'readTorchCheckpoint';

/**
 * True for torch's pre-1.6 format: a protocol-2 pickle that starts with torch's magic number
 * (`\x80\x02\x8a\x0a` + 10 bytes), not with a zip signature.
 */
export function isLegacyTorch(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a && bytes[3] === 0x0a;
}

/**
 * Reads a PyTorch checkpoint written by torch.save (torch ≥ 1.6 zip format: `<dir>/data.pkl` +
 * `<dir>/data/<key>` storages) without Python and without executing anything: the pickle runs on a
 * restricted machine that accepts only OrderedDict, `torch._utils._rebuild_tensor_v2` /
 * `_rebuild_parameter` and torch's storage classes; any other global is refused with a ValueError
 * naming it. Views (non-contiguous strides, storage offsets, shared storages) are copied out
 * contiguous. The state dict is the top-level dict when all its values are tensors, else the dict
 * under `state_dict` or `model` (as the official MAE files). Legacy (pre-1.6) files, corrupt zips
 * and storages that do not hold what the pickle claims are ValueErrors naming `file`.
 */
export function readTorchCheckpoint(bytes: Uint8Array, file: string): TorchCheckpoint {
  const where = `${WHERE}: ${file}`;
  if (!ZipArchive.isZip(bytes)) {
    if (isLegacyTorch(bytes)) throw new ValueError(`${where} is in torch's unsupported legacy format (torch < 1.6); re-save it with torch ≥ 1.6`);
    throw new ValueError(`${where} is not a PyTorch zip checkpoint (no zip signature)`);
  }
  const zip = new ZipArchive(bytes, file);
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) throw new ValueError(`${where} has ${pickles.length} <dir>/data.pkl records, expected exactly 1`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteOrder = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)) : 'little';
  if (byteOrder !== 'little' && byteOrder !== 'big') throw new ValueError(`${where} has byteorder ${JSON.stringify(byteOrder)}`);

  const storages = new Map<string, Storage>();
  const loadStorage = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new ValueError(`${where}: a persistent id is not ('storage', type, key, location, numel)`);
    }
    const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
    const dtype = isGlobal(type) && type.module === 'torch' ? storageDtype(type.name) : undefined;
    if (dtype === undefined || typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) {
      throw new ValueError(`${where}: a storage id is malformed (key ${JSON.stringify(key)}, numel ${JSON.stringify(numel)})`);
    }
    const cached = storages.get(key);
    if (cached !== undefined) return cached;
    const name = `${prefix}data/${key}`;
    if (!zip.entries.has(name)) throw new ValueError(`${where}: storage ${JSON.stringify(key)} has no record ${name}`);
    const data = zip.read(name);
    if (data.length !== (numel as number) * SIZES[dtype]) {
      throw new ValueError(`${where}: storage ${JSON.stringify(key)} holds ${data.length} bytes, but ${numel} ${dtype} values need ${(numel as number) * SIZES[dtype]}`);
    }
    const storage = new Storage(dtype, data, numel as number);
    storages.set(key, storage);
    return storage;
  };

  const root = unpickle(
    zip.read(pickles[0]),
    {
      findGlobal: (module, name) => {
        const full = `${module}.${name}`;
        if (ALLOWED.includes(full) || (module === 'torch' && storageDtype(name) !== undefined)) return { kind: 'global', module, name };
        throw new ValueError(
          `${where} pickles the global "${full}", which is refused: only tensors, storages and OrderedDicts are read (nothing in the file is executed)`,
        );
      },
      persistentLoad: loadStorage,
      reduce: (callable, args) => {
        if (callable.name === 'OrderedDict') return new PyDict();
        if (callable.name === '_rebuild_parameter') return args[0];
        if (callable.name === '_rebuild_tensor_v2') return rebuildTensor(args, byteOrder === 'big', where);
        throw new ValueError(`${where}: ${callable.module}.${callable.name} cannot be called`);
      },
    },
    where,
  );
  return findStateDict(root, where);
}

function isIntList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
/** Bytes a stride-0 view may add beyond its storage when materialised (hostile files claim billions). */
const MAX_EXPANSION_BYTES = 2 ** 20;

function rebuildTensor(args: readonly unknown[], bigEndian: boolean, where: string): RawTensor {
  const [storage, offset, shape, stride] = args as [unknown, unknown, unknown, unknown];
  if (args.length < 4 || !(storage instanceof Storage)) {
    throw new ValueError(`${where}: _rebuild_tensor_v2 needs (storage, offset, size, stride, ...)`);
  }
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIntList(shape) || !isIntList(stride) || shape.length !== stride.length) {
    throw new ValueError(`${where}: a tensor has a malformed offset, size or stride`);
  }
  const count = shape.reduce((n, d) => n * d, 1);
  const size = SIZES[storage.dtype];
  // Both checked before allocating, so a hostile file cannot make us allocate what it does not hold.
  if (count > 0) {
    const last = shape.reduce((end, d, i) => end + (d - 1) * stride[i], offset as number);
    if (last >= storage.numel) {
      throw new ValueError(`${where}: a tensor of size [${shape.join(',')}], stride [${stride.join(',')}] at offset ${offset} reads past its storage of ${storage.numel} values`);
    }
  }
  // A view with more values than its storage (stride 0: torch's expand) is materialised, up to a bound.
  if (count > storage.numel && (count - storage.numel) * size > MAX_EXPANSION_BYTES) {
    throw new ValueError(
      `${where}: a tensor of size [${shape.join(',')}] repeats its storage of ${storage.numel} values (a stride-0 view) ` +
        `into more than ${MAX_EXPANSION_BYTES} extra bytes; save it with .contiguous()`,
    );
  }
  const data = new Uint8Array(count * size);
  if (count > 0) {
    gather(storage.bytes, size, offset as number, shape, stride, data);
    if (bigEndian && size > 1) for (let i = 0; i < data.length; i += size) data.subarray(i, i + size).reverse();
  }
  return { dtype: storage.dtype, shape: [...shape], data };
}

/** Copies a strided view out of `source` into row-major `out` (element size `size` bytes). */
function gather(source: Uint8Array, size: number, offset: number, shape: number[], stride: number[], out: Uint8Array): void {
  const rank = shape.length;
  let contiguous = true;
  for (let d = rank - 1, expected = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) contiguous = false;
    expected *= shape[d];
  }
  if (contiguous) {
    out.set(source.subarray(offset * size, offset * size + out.length));
    return;
  }
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  for (let o = 0; o < out.length; o += size) {
    out.set(source.subarray(at * size, at * size + size), o);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
}

function isTensor(value: unknown): value is RawTensor {
  return typeof value === 'object' && value !== null && 'data' in value && 'dtype' in value && 'shape' in value;
}

function tensorsOf(value: unknown): Map<string, RawTensor> | null {
  if (!(value instanceof PyDict) || value.items.size === 0) return null;
  const out = new Map<string, RawTensor>();
  for (const [k, v] of value.items) {
    if (typeof k !== 'string' || !isTensor(v)) return null;
    out.set(k, v);
  }
  return out;
}

function describe(value: unknown): string {
  if (isTensor(value)) return 'tensor';
  if (value instanceof PyDict) return 'dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'tuple' : 'list';
  return value === null ? 'None' : typeof value;
}

function findStateDict(root: unknown, where: string): TorchCheckpoint {
  const direct = tensorsOf(root);
  if (direct) return { tensors: direct, source: '' };
  if (root instanceof PyDict) {
    for (const key of WRAPPERS) {
      const nested = tensorsOf(root.items.get(key));
      if (nested) return { tensors: nested, source: key };
    }
    const keys = [...root.items].slice(0, 10).map(([k, v]) => `${String(k)} (${describe(v)})`);
    throw new ValueError(
      `${where} holds no state dict: expected a dict of tensors, or one under "state_dict" or "model"; top-level keys: ${keys.join(', ')}${root.items.size > 10 ? ` … (${root.items.size} in all)` : ''}`,
    );
  }
  throw new ValueError(`${where} holds a ${describe(root)}, not a state dict`);
}
