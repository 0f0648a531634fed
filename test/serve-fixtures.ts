/**
 * Fixtures of the serve tests (not a test file): the shipped model's paths, pictures with structure
 * at every scale, the offline oracle (onnxruntime run here on the same decoded image), a PNG bomb's
 * header, and the alexnet CLI as a child process.
 */
import test from 'ava';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeToSquare } from '../src/image/decode.js';
import { readModelMetadata, type ModelMetadata } from '../src/model/onnx-metadata.js';
import { AlexNetClient } from '../src/serve/client.js';
import { createLogger } from '../src/serve/log.js';
import { startServer, type RunningServer, type ServeOptions } from '../src/serve/server.js';

export const MODEL = fileURLToPath(new URL('../../models/fashion-mnist-mini/model.onnx', import.meta.url));
export const TEN = MODEL.replace(/\.onnx$/, '.tencrop.onnx');
export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
export const quiet = createLogger('error', () => undefined);

/** A picture with structure at every scale (so crops and rotations change the answer), seeded by k. */
export function picture(k: number, width = 56, height = 48): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 127 + 120 * Math.sin((x * (k + 2)) / 9 + (y * (k % 5)) / 7) * Math.cos((y * (1 + (k % 3))) / 11 - k);
      const i = (y * width + x) * 3;
      px[i] = Math.max(0, Math.min(255, Math.round(v + (x < width / 3 ? 60 : 0))));
      px[i + 1] = Math.max(0, Math.min(255, Math.round(v * 0.8 + (y > height / 2 ? 50 : 0))));
      px[i + 2] = Math.max(0, Math.min(255, Math.round(255 - v)));
    }
  }
  return px;
}
export const raw = (px: Buffer, width = 56, height = 48, channels: 1 | 3 | 4 = 3) => sharp(px, { raw: { width, height, channels } });
export const png = (k: number) => raw(picture(k)).png().toBuffer();

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
export const byIndex = (classes: { index: number; probability: number }[], n: number) => {
  const p = new Float64Array(n);
  for (const c of classes) p[c.index] = c.probability;
  return p;
};

export interface Oracle {
  meta: ModelMetadata;
  ten: ort.InferenceSession;
  single: ort.InferenceSession;
  /** Offline: decode with the shared image module, run the ten-crop model here. */
  offline(image: Buffer): Promise<{ p: Float32Array; fc7: Float32Array }>;
}

/** A model's metadata and both its sessions (the shipped model's by default), run here, not by the server. */
export async function loadOracle(model = MODEL): Promise<Oracle> {
  const meta = await readModelMetadata(model);
  const [ten, single] = await Promise.all([ort.InferenceSession.create(model.replace(/\.onnx$/, '.tencrop.onnx')), ort.InferenceSession.create(model)]);
  const offline = async (image: Buffer) => {
    const d = await decodeToSquare(image, { size: meta.baseSize });
    const out = await ten.run({ images: new ort.Tensor('uint8', d.data, [1, meta.baseSize, meta.baseSize, 3]) });
    return { p: out.probabilities!.data as Float32Array, fc7: out.fc7!.data as Float32Array };
  };
  return { meta, ten, single, offline };
}

export interface Served {
  server: RunningServer;
  client: AlexNetClient;
  meta: ModelMetadata;
  offline: Oracle['offline'];
  oracle: Oracle;
}

/**
 * Before the file's tests: the oracle, a server of the shipped model on 127.0.0.1:0 (cpu, 5 ms
 * batching delay, `options` over those) and a client, then `ready` awaited; after them, both closed.
 */
export function serveForTests(options: Partial<ServeOptions> = {}, ready: (served: Served) => Promise<unknown> = async () => undefined): Served {
  const served = {} as Served;
  test.before(async () => {
    served.oracle = await loadOracle();
    served.meta = served.oracle.meta;
    served.offline = served.oracle.offline;
    served.server = await startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet, ...options });
    served.client = new AlexNetClient(served.server.address);
    await ready(served);
  });
  test.after.always(async () => {
    served.client?.close();
    await served.server?.shutdown('tests done');
  });
  return served;
}

/** The status code and details of a Classify call that must fail. */
export async function failure(client: AlexNetClient, image: Buffer): Promise<{ code: number; details: string }> {
  try {
    await client.classify({ image });
  } catch (e) {
    return e as { code: number; details: string };
  }
  throw new Error('the call succeeded');
}

/** A PNG whose header says width x height, with no pixel data worth the name (a decompression bomb's header). */
export function pngHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))]);
}

/** The alexnet CLI as a child process: its exit code, stdout and stderr. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWithInput(undefined, ...args);
}

/** The CLI as a child process with `input` on its standard input (none: no stdin at all). */
export async function cliWithInput(input: Buffer | undefined, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (input) p.stdin!.end(input);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the child's last output can still be in its pipes when it has exited.
  const [code] = (await once(p, 'close')) as [number];
  return { code, out, err };
}
