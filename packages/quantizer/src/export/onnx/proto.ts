/** ONNX protobuf pieces (via `onnx-proto`): tensors, attributes and value infos. */
import onnxProto from "onnx-proto";

export const { onnx } = onnxProto;
export type INodeProto = onnxProto.onnx.INodeProto;
export type ITensorProto = onnxProto.onnx.ITensorProto;
export type IAttributeProto = onnxProto.onnx.IAttributeProto;
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const DataType = onnx.TensorProto.DataType;

export const ints = (name: string, values: number[]): IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
export const int = (name: string, value: number): IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian raw bytes of a typed array (ONNX `raw_data`). */
function rawLE(data: Float32Array | Int32Array | Uint16Array | Int8Array): Uint8Array {
  const size = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(data.byteLength);
  if (LITTLE_ENDIAN || size === 1) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return out;
  }
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) dv.setFloat32(i * 4, data[i]!, true);
    else if (data instanceof Int32Array) dv.setInt32(i * 4, data[i]!, true);
    else dv.setUint16(i * 2, data[i]!, true);
  }
  return out;
}

const TYPE_OF = new Map<unknown, number>([
  [Float32Array, DataType.FLOAT],
  [Int32Array, DataType.INT32],
  [Int8Array, DataType.INT8],
  [Uint16Array, DataType.FLOAT16],
]);

/** An initializer; a Uint16Array holds IEEE half bit patterns (FLOAT16). */
export function tensorProto(
  name: string,
  dims: number[],
  data: Float32Array | Int32Array | Int8Array | Uint16Array,
): ITensorProto {
  return { name, dims, dataType: TYPE_OF.get(data.constructor)!, rawData: rawLE(data) };
}

export function int64Tensor(name: string, values: number[]): ITensorProto {
  const le = new Uint8Array(values.length * 8);
  const dv = new DataView(le.buffer);
  values.forEach((v, i) => {
    dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return { name, dims: [values.length], dataType: DataType.INT64, rawData: le };
}

export function valueInfo(name: string, dims: number[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => ({ dimValue: d })) },
      },
    },
  };
}
