import { ValueError } from '@residual/core';
import {
  OnnxAttributeType,
  OnnxDataType,
  encodeModel,
  type AttributeInit,
  type DimensionInit,
  type NodeInit,
  type TensorProtoInit,
  type ValueInfoInit,
} from './onnx-schema.js';

/** Opset of the default ONNX domain every exported graph imports (LayerNormalization needs ≥ 17). */
export const ONNX_OPSET = 17;
/** IR version matching opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/** A node attribute: an int, a float, a string, or a list of ints or floats (tagged, as ONNX types them). */
export type Attr = { i: number } | { f: number } | { s: string } | { ints: readonly number[] } | { floats: readonly number[] };

/** A graph dimension: a size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

function toAttribute(name: string, a: Attr): AttributeInit {
  if ('i' in a) return { name, type: OnnxAttributeType.INT, i: a.i };
  if ('f' in a) return { name, type: OnnxAttributeType.FLOAT, f: a.f };
  if ('s' in a) return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(a.s) };
  if ('ints' in a) return { name, type: OnnxAttributeType.INTS, ints: [...a.ints] };
  return { name, type: OnnxAttributeType.FLOATS, floats: [...a.floats] };
}

function valueInfo(name: string, dims: readonly Dim[] | null): ValueInfoInit {
  if (!dims) return { name, type: { tensor_type: { elem_type: OnnxDataType.FLOAT } } };
  const dim: DimensionInit[] = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: OnnxDataType.FLOAT, shape: { dim } } } };
}

/**
 * Builds one ONNX graph: float inputs and outputs, initializers (weights, constants) and nodes in
 * topological order (each node's inputs exist before it is added). Value names are made unique
 * from readable hints (torch key paths such as 'layer1.0.conv1'). `encode()` gives the model bytes.
 */
export class OnnxGraph {
  private readonly nodes: NodeInit[] = [];
  private readonly initializers: TensorProtoInit[] = [];
  private readonly inputs: ValueInfoInit[] = [];
  private readonly outputs: ValueInfoInit[] = [];
  private readonly used = new Set<string>();
  private readonly memos = new WeakMap<object, Map<string, string[]>>();

  constructor(readonly name: string) {}

  /** A fresh value name from `hint` ('x', 'x_1', …). */
  fresh(hint: string): string {
    let name = hint || 'v';
    for (let k = 1; this.used.has(name); k++) name = `${hint}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Declares a float32 graph input of the given shape and returns its value name (exactly `name`). */
  input(name: string, dims: readonly Dim[]): string {
    if (this.used.has(name)) throw new ValueError(`OnnxGraph.input: name "${name}" is already used`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity renames it when they differ); null dims = any shape. */
  output(value: string, name: string, dims: readonly Dim[] | null): void {
    let out = value;
    if (value !== name) {
      if (this.used.has(name)) throw new ValueError(`OnnxGraph.output: name "${name}" is already used`);
      this.used.add(name);
      this.nodes.push({ name: `${name}/Identity`, op_type: 'Identity', input: [value], output: [name], attribute: [] });
      out = name;
    }
    this.outputs.push(valueInfo(out, dims));
  }

  /** A float32 initializer (row-major `values` of shape `dims`, copied); returns its name. */
  floats(hint: string, values: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new ValueError(`OnnxGraph.floats: "${hint}" has ${values.length} values, shape [${dims.join(',')}] needs ${size}`);
    }
    const name = this.fresh(hint);
    const raw = new Uint8Array(new Float32Array(values).buffer); // little-endian on every supported platform
    this.initializers.push({ name, dims: [...dims], data_type: OnnxDataType.FLOAT, raw_data: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices); `dims` default [values.length]; returns its name. */
  int64s(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims: [...dims], data_type: OnnxDataType.INT64, int64_data: [...values] });
    return name;
  }

  /**
   * Initializers made once per (owner, key) and shared by every later use, e.g. the weights of
   * an RPN head that runs on each pyramid level.
   */
  memo(owner: object, key: string, make: () => string[]): string[] {
    let byKey = this.memos.get(owner);
    if (!byKey) this.memos.set(owner, (byKey = new Map()));
    let names = byKey.get(key);
    if (!names) byKey.set(key, (names = make()));
    return names;
  }

  /** Adds a node with `numOutputs` outputs named from `hint`; returns the output names. */
  nodeN(op: string, inputs: readonly string[], attrs: Record<string, Attr>, numOutputs: number, hint: string): string[] {
    const output = Array.from({ length: numOutputs }, (_, k) => this.fresh(numOutputs === 1 ? hint : `${hint}.${k}`));
    const attribute = Object.entries(attrs).map(([k, a]) => toAttribute(k, a));
    this.nodes.push({ name: `${output[0]}/${op}`, op_type: op, input: [...inputs], output, attribute });
    return output;
  }

  /** Adds a one-output node; returns its output name. */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint = op.toLowerCase()): string {
    return this.nodeN(op, inputs, attrs, 1, hint)[0];
  }

  /** Counts of nodes per op type (for summaries and tests). */
  opCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.nodes) out[n.op_type] = (out[n.op_type] ?? 0) + 1;
    return out;
  }

  /** The ONNX model bytes (ModelProto, opset {@link ONNX_OPSET}); `metadata` goes to metadata_props. */
  encode(metadata: Record<string, string> = {}, docString = ''): Uint8Array {
    if (this.outputs.length === 0) throw new ValueError(`OnnxGraph.encode: graph "${this.name}" has no outputs`);
    return encodeModel({
      ir_version: ONNX_IR_VERSION,
      opset_import: [{ domain: '', version: ONNX_OPSET }],
      producer_name: '@residual/onnx',
      producer_version: '0.0.0',
      doc_string: docString,
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
  }
}
