/**
 * Map fields as reflection clients expect them. proto-loader's descriptors (protobufjs's
 * toDescriptor) name a map field's entry message after the field (`labels` -> `Labels`, `one_of`
 * -> `One_of`) where protoc names it `LabelsEntry` / `OneOfEntry`; protoc, grpcurl (Go's
 * protodesc) and Python's descriptor pool refuse such a file ("invalid map entry"), and with it
 * every service of its package, Classify included (grpcurl#519). The file descriptors are
 * rewritten here on the protobuf wire format, so no protobuf library's internals are involved.
 */
import type { PackageDefinition } from '@grpc/proto-loader';

// Field numbers of google/protobuf/descriptor.proto.
const FILE_MESSAGE_TYPE = 4;
const MESSAGE_NAME = 1;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED_TYPE = 3;
const MESSAGE_OPTIONS = 7;
const OPTIONS_MAP_ENTRY = 7;
const FIELD_NAME = 1;
const FIELD_TYPE_NAME = 6;

interface WireField {
  no: number;
  wire: number;
  /** The whole field as it was read: tag and value. */
  raw: Buffer;
  /** A length-delimited field's payload. */
  payload?: Buffer;
  /** A varint field's value. */
  value?: number;
}

function readVarint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('a file descriptor ends inside a varint');
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function parse(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [tag, afterTag] = readVarint(buf, at);
    const wire = tag % 8;
    const no = Math.floor(tag / 8);
    let payload: Buffer | undefined;
    let value: number | undefined;
    if (wire === 0) [value, at] = readVarint(buf, afterTag);
    else if (wire === 1) at = afterTag + 8;
    else if (wire === 5) at = afterTag + 4;
    else if (wire === 2) {
      const [len, afterLen] = readVarint(buf, afterTag);
      at = afterLen + len;
      payload = buf.subarray(afterLen, at);
    } else throw new Error(`a file descriptor holds wire type ${wire}, which descriptors do not use`);
    if (at > buf.length) throw new Error('a file descriptor ends inside a field');
    out.push({ no, wire, raw: buf.subarray(start, at), ...(payload ? { payload } : {}), ...(value !== undefined ? { value } : {}) });
  }
  return out;
}

function lengthDelimited(no: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(no * 8 + 2), varint(payload.length), payload]);
}

function withString(fields: WireField[], no: number, value: string): Buffer {
  return Buffer.concat(fields.map((f) => (f.no === no && f.wire === 2 ? lengthDelimited(no, Buffer.from(value)) : f.raw)));
}

const stringOf = (fields: WireField[], no: number) => fields.find((f) => f.no === no && f.wire === 2)?.payload?.toString();

/** protoc's name for a map field's entry message: `one_of` -> `OneOfEntry` (descriptor.cc, MapEntryName). */
export function mapEntryName(fieldName: string): string {
  return fieldName.split('_').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('') + 'Entry';
}

function isMapEntry(message: WireField[]): boolean {
  const options = message.find((f) => f.no === MESSAGE_OPTIONS && f.wire === 2);
  return options !== undefined && parse(options.payload!).some((f) => f.no === OPTIONS_MAP_ENTRY && f.wire === 0 && f.value === 1);
}

/** One DescriptorProto with its map entries (and those of its nested messages) named as protoc names them. */
function fixMessage(buf: Buffer): Buffer {
  const fields = parse(buf);
  const nested = new Map<WireField, Buffer>();
  for (const f of fields) if (f.no === MESSAGE_NESTED_TYPE && f.wire === 2) nested.set(f, fixMessage(f.payload!));
  // Entry messages by their name, as the map field's type_name refers to them (relative, or its last part).
  const entries = new Map<string, WireField>();
  for (const [f, body] of nested) {
    const inner = parse(body);
    if (isMapEntry(inner)) entries.set(stringOf(inner, MESSAGE_NAME) ?? '', f);
  }
  const renamed = new Map<WireField, string>();
  const out: Buffer[] = [];
  for (const f of fields) {
    if (f.no === MESSAGE_FIELD && f.wire === 2 && entries.size > 0) {
      const field = parse(f.payload!);
      const typeName = stringOf(field, FIELD_TYPE_NAME);
      const lastDot = typeName?.lastIndexOf('.') ?? -1;
      const entry = typeName !== undefined ? entries.get(typeName.slice(lastDot + 1)) : undefined;
      if (entry && !renamed.has(entry)) {
        const name = mapEntryName(stringOf(field, FIELD_NAME) ?? '');
        renamed.set(entry, name);
        out.push(lengthDelimited(MESSAGE_FIELD, withString(field, FIELD_TYPE_NAME, typeName!.slice(0, lastDot + 1) + name)));
        continue;
      }
    }
    out.push(f.raw);
  }
  // Nested messages go after the fields were read, so each entry takes the name of the field that uses it.
  return Buffer.concat(
    fields.map((f, i) => {
      const body = nested.get(f);
      if (!body) return out[i]!;
      const name = renamed.get(f);
      return lengthDelimited(MESSAGE_NESTED_TYPE, name !== undefined ? withString(parse(body), MESSAGE_NAME, name) : body);
    }),
  );
}

/** One serialized FileDescriptorProto, its map entries named as protoc names them. */
export function fixFileDescriptor(buf: Buffer): Buffer {
  return Buffer.concat(parse(buf).map((f) => (f.no === FILE_MESSAGE_TYPE && f.wire === 2 ? lengthDelimited(FILE_MESSAGE_TYPE, fixMessage(f.payload!)) : f.raw)));
}

/** A copy of `pkg` whose file descriptors (what server reflection sends) name map entries as protoc does. */
export function withMapEntryNames(pkg: PackageDefinition): PackageDefinition {
  const fixed = new Map<Buffer, Buffer>();
  const fix = (b: Buffer) => fixed.get(b) ?? (fixed.set(b, fixFileDescriptor(b)), fixed.get(b)!);
  const out: PackageDefinition = {};
  for (const [name, def] of Object.entries(pkg)) {
    const files = (def as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
    out[name] = Array.isArray(files) ? ({ ...def, fileDescriptorProtos: files.map(fix) } as typeof def) : def;
  }
  return out;
}
