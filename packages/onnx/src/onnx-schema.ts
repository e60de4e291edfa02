import { Root, type INamespace } from 'protobufjs';

// The subset of onnx/onnx.proto (IR version 8, proto2) that residual writes and reads, as a
// protobufjs JSON descriptor: field numbers and types copied from the public ONNX spec, so the
// wire format comes from protobufjs and not from a hand-rolled encoder. Fields left out
// (training_info, sparse tensors, segments, external data, …) are skipped when decoding.
const ONNX_DESCRIPTOR: INamespace = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
          },
          nested: {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            doc_string: { type: 'string', id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            doc_string: { type: 'string', id: 6 },
          },
        },
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadata_props: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            doc_string: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            value_info: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            float_data: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int32_data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
            int64_data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            doc_string: { type: 'string', id: 12 },
            raw_data: { type: 'bytes', id: 9 },
          },
          nested: {
            DataType: { values: { UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: {
                dim_value: { type: 'int64', id: 1 },
                dim_param: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: {
            tensor_type: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          },
          nested: {
            Tensor: {
              fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
            },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
      },
    },
  },
};

/** ONNX element types used here (TensorProto.DataType). */
export const OnnxDataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;

/** ONNX attribute types (AttributeProto.AttributeType). */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** A TensorProto as a plain object (snake_case field names of onnx.proto). */
export interface TensorProtoInit {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  int64_data?: number[];
}

/** A dimension: a fixed size (`dim_value`) or a symbolic name (`dim_param`, e.g. 'batch'). */
export type DimensionInit = { dim_value: number } | { dim_param: string };

/** A ValueInfoProto for a float tensor of the given (possibly symbolic) shape. */
export interface ValueInfoInit {
  name: string;
  type: { tensor_type: { elem_type: number; shape?: { dim: DimensionInit[] } } };
}

/** An AttributeProto (exactly one of f, i, s, t, floats, ints is set, matching `type`). */
export interface AttributeInit {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoInit;
  floats?: number[];
  ints?: number[];
}

/** A NodeProto. */
export interface NodeInit {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeInit[];
  domain?: string;
}

/** A ModelProto with one graph. */
export interface ModelInit {
  ir_version: number;
  opset_import: Array<{ domain: string; version: number }>;
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: {
    name: string;
    node: NodeInit[];
    initializer: TensorProtoInit[];
    input: ValueInfoInit[];
    output: ValueInfoInit[];
    doc_string?: string;
  };
  metadata_props?: Array<{ key: string; value: string }>;
}

const root = Root.fromJSON(ONNX_DESCRIPTOR);
const modelType = root.lookupType('onnx.ModelProto');

/** Serialises a ModelProto to the ONNX file format (protobuf binary, via protobufjs). */
export function encodeModel(model: ModelInit): Uint8Array {
  const problem = modelType.verify(model);
  if (problem) throw new Error(`encodeModel: invalid ModelProto: ${problem}`);
  return modelType.encode(modelType.fromObject(model)).finish();
}

/**
 * Parses ONNX bytes back into a plain object (int64 fields as numbers, bytes as Uint8Array);
 * for inspection and tests, not for running models.
 */
export function decodeModel(bytes: Uint8Array): ModelInit {
  const message = modelType.decode(bytes);
  return modelType.toObject(message, { longs: Number, bytes: Uint8Array as unknown as ArrayConstructor, defaults: false, arrays: true }) as ModelInit;
}
