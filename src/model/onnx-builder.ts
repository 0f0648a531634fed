/**
 * A thin typed helper over onnx-proto (the ONNX schema as generated protobufjs code) to build
 * a graph: initializers, nodes with attributes, inputs and outputs, and the encoded ModelProto.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

/** This package's version, as the exported files' producer_version. */
const PRODUCER_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const { onnx } = onnxProto;
type Onnx = typeof onnx;
export type ModelProto = InstanceType<Onnx['ModelProto']>;

export const OPSET = 13;
/** IR version 7 (ONNX 1.8): read by onnxruntime 1.30 and by Debian's onnx 1.12 checker. */
export const IR_VERSION = 7;

export type Attr = { i: number } | { f: number } | { ints: number[] } | { s: string };
export type Dim = number | string;

const ElemType = onnx.TensorProto.DataType;
export const FLOAT = ElemType.FLOAT;
export const UINT8 = ElemType.UINT8;
export const INT64 = ElemType.INT64;

function attribute(name: string, a: Attr): InstanceType<Onnx['AttributeProto']> {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return onnx.AttributeProto.create({ name, type: T.INT, i: a.i });
  if ('f' in a) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.f });
  if ('ints' in a) return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.ints });
  return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.s) });
}

function valueInfo(name: string, elemType: number, shape: readonly Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export class GraphBuilder {
  private readonly nodes: InstanceType<Onnx['NodeProto']>[] = [];
  private readonly initializers: InstanceType<Onnx['TensorProto']>[] = [];
  private readonly inputs: InstanceType<Onnx['ValueInfoProto']>[] = [];
  private readonly outputs: InstanceType<Onnx['ValueInfoProto']>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name = prefix;
    while (this.names.has(name)) name = `${prefix}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(onnx.TensorProto.create({ name, dims: [...dims], dataType: FLOAT, rawData: bytes }));
    this.names.add(name);
    return name;
  }

  int64s(name: string, values: readonly (number | bigint)[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) }));
    this.names.add(name);
    return name;
  }

  /** Add a node; returns its (first) output name. */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, name?: string, outputs?: string[]): string {
    const outs = outputs ?? [this.fresh(name ?? op.toLowerCase())];
    for (const o of outs) this.names.add(o);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        input: [...inputs],
        output: outs,
        name: name ?? outs[0]!,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs[0]!;
  }

  input(name: string, elemType: number, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    this.names.add(name);
    return name;
  }

  output(name: string, elemType: number, shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  model(graphName: string, metadata: Record<string, string>, docString: string): ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'alexnet',
      producerVersion: PRODUCER_VERSION,
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
