/**
 * How many values a request decodes into, counted on its wire bytes before protobufjs decodes
 * it. Decoding costs per value, not per byte: 15 MiB of empty `inputs` in one ModelInferRequest
 * (two bytes each) decode into 8 million objects, 23 s of the event loop and 3 GB, and two such
 * requests end the process. The count walks the fields by the message's descriptor (as
 * proto-loader gives it), into every sub-message; bytes, strings and packed numbers are one value
 * each (an image or a tensor's pixels cost their bytes, not their elements).
 */
import type * as protoLoader from '@grpc/proto-loader';

/** Most values one request may decode into: SearchBatch's 256 queries at the filter limits are about 300,000. */
export const MAX_REQUEST_VALUES = 400_000;

interface FieldDescriptor {
  number: number;
  type: string;
  typeName: string;
}
interface Descriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: Descriptor[];
}

/** Every message type of the package definitions by full name, nested ones (map entries too) included. */
export function messageTypes(...definitions: protoLoader.PackageDefinition[]): Map<string, Descriptor> {
  const types = new Map<string, Descriptor>();
  const add = (name: string, d: Descriptor) => {
    types.set(name, d);
    for (const n of d.nestedType ?? []) add(`${name}.${n.name}`, n);
  };
  for (const definition of definitions) {
    for (const [name, t] of Object.entries(definition)) {
      if ((t as { format?: unknown }).format === 'Protocol Buffer 3 DescriptorProto') add(name, (t as { type: unknown }).type as Descriptor);
    }
  }
  return types;
}

/** The type `typeName` names from inside `scope` (protobuf's rule: innermost scope first). */
function resolve(types: Map<string, Descriptor>, scope: string, typeName: string): [string, Descriptor] | undefined {
  if (typeName.startsWith('.')) return types.has(typeName.slice(1)) ? [typeName.slice(1), types.get(typeName.slice(1))!] : undefined;
  for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf('.')))) {
    const name = s ? `${s}.${typeName}` : typeName;
    const d = types.get(name);
    if (d) return [name, d];
    if (!s) return undefined;
  }
}

/**
 * The values of the message of type `name` in `bytes`, counted until past `most` (then a number
 * above it). Bytes that are not a valid message stop the count: the decoder refuses them itself.
 */
export function countValues(bytes: Buffer, types: Map<string, Descriptor>, name: string, most = MAX_REQUEST_VALUES): number {
  let count = 0;
  let at = 0;
  const varint = (end: number): number => {
    let v = 0;
    for (let scale = 1; at < end && scale < 2 ** 64; scale *= 128) {
      const b = bytes[at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
    throw new RangeError('varint');
  };
  const walk = (scope: string, d: Descriptor | undefined, end: number): void => {
    while (at < end && count <= most) {
      const tag = varint(end);
      const wire = tag % 8;
      count++;
      if (wire === 0) varint(end);
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        const length = varint(end);
        const stop = at + length;
        if (stop > end) throw new RangeError('length');
        const field = d?.field.find((f) => f.number === Math.floor(tag / 8));
        const sub = field?.type === 'TYPE_MESSAGE' ? resolve(types, scope, field.typeName) : undefined;
        if (sub) walk(sub[0], sub[1], stop);
        at = stop;
      } else throw new RangeError('wire type');
    }
  };
  try {
    walk(name, types.get(name), bytes.length);
  } catch {
    // Not a valid message: counted so far.
  }
  return count;
}
