/**
 * TLS, mutual TLS, certificate rotation and bearer tokens, with real servers on 127.0.0.1, real
 * clients, certificates made by openssl and the metrics scraped over HTTP as the oracle of what
 * ran (zero decodes and inferences for refused calls).
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/serve/server.js';
import { scrape, total } from '../prometheus-text.js';
import { cli, MODEL, png, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { makeCa, makeLeaf, type Pem } from '../tls-fixtures.js';

const certs = {} as { dir: string; ca: Pem; otherCa: Pem; server: Pem; serverByOther: Pem; client: Pem; stranger: Pem };
test.before(async () => {
  const dir = (certs.dir = await tempDir('tls'));
  certs.ca = await makeCa(dir, 'ca');
  certs.otherCa = await makeCa(dir, 'other-ca');
  certs.server = await makeLeaf(dir, 'server', certs.ca, 'server');
  certs.serverByOther = await makeLeaf(dir, 'server-other', certs.otherCa, 'server');
  certs.client = await makeLeaf(dir, 'client', certs.ca, 'client');
  certs.stranger = await makeLeaf(dir, 'stranger', certs.otherCa, 'client');
});

const read = (f: string) => fs.readFile(f);
const serve = (o: Partial<ServeOptions>) => startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet, ...o });
const codeOf = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (e: { code: number }) => e.code);

async function withServer(o: Partial<ServeOptions>, f: (s: RunningServer) => Promise<void>): Promise<void> {
  const s = await serve(o);
  try {
    await f(s);
  } finally {
    await s.shutdown('test done');
  }
}

test('TLS: a plaintext client is refused, a client trusting the CA is answered', async (t) => {
  await withServer({ tls: { cert: certs.server.cert, key: certs.server.key } }, async (s) => {
    const image = await png(1);
    const plain = new AlexNetClient(s.address);
    t.is(await codeOf(plain.classify({ image }, { timeoutMs: 5000 })), grpc.status.UNAVAILABLE);
    plain.close();
    const untrusting = new AlexNetClient(s.address, {}, { tls: { ca: await read(certs.otherCa.cert) } });
    t.is(await codeOf(untrusting.classify({ image }, { timeoutMs: 5000 })), grpc.status.UNAVAILABLE);
    untrusting.close();
    const ok = new AlexNetClient(s.address, {}, { tls: { ca: await read(certs.ca.cert) } });
    t.is((await ok.classify({ image })).classes.length, 5);
    ok.close();
  });
});

test('mTLS: no client certificate, or one of another CA, refused; the CA\'s client answered; the CLI with --tls-ca --tls-cert --tls-key', async (t) => {
  await withServer({ tls: { cert: certs.server.cert, key: certs.server.key, clientCa: certs.ca.cert } }, async (s) => {
    const image = await png(2);
    const ca = await read(certs.ca.cert);
    const none = new AlexNetClient(s.address, {}, { tls: { ca } });
    t.not(await codeOf(none.classify({ image }, { timeoutMs: 5000 })), grpc.status.OK);
    none.close();
    const stranger = new AlexNetClient(s.address, {}, { tls: { ca, cert: await read(certs.stranger.cert), key: await read(certs.stranger.key) } });
    t.not(await codeOf(stranger.classify({ image }, { timeoutMs: 5000 })), grpc.status.OK);
    stranger.close();
    const member = new AlexNetClient(s.address, {}, { tls: { ca, cert: await read(certs.client.cert), key: await read(certs.client.key) } });
    t.is((await member.classify({ image })).classes.length, 5);
    member.close();

    const file = path.join(certs.dir, 'cli.png');
    await fs.writeFile(file, image);
    const r = await cli('classify', file, '--server', s.address, '--tls-ca', certs.ca.cert, '--tls-cert', certs.client.cert, '--tls-key', certs.client.key, '--json');
    t.is(r.code, 0, r.err);
    t.is(JSON.parse(r.out)[0].classes.length, 5);
    const without = await cli('classify', file, '--server', s.address, '--tls-ca', certs.ca.cert, '--timeout', '5');
    t.is(without.code, 1);
    t.regex(without.err, /asks for a client certificate \(mTLS\): pass --tls-cert and --tls-key/);
  });
});

test('certificate rotation: new files are served to new connections without a restart', async (t) => {
  const dir = await tempDir('tls-rotate');
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  await fs.copyFile(certs.server.cert, cert);
  await fs.copyFile(certs.server.key, key);
  await withServer({ tls: { cert, key } }, async (s) => {
    const image = await png(3);
    const byOther = async () => {
      const c = new AlexNetClient(s.address, {}, { tls: { ca: await read(certs.otherCa.cert) } });
      const code = await codeOf(c.classify({ image }, { timeoutMs: 3000 }));
      c.close();
      return code;
    };
    t.is(await byOther(), grpc.status.UNAVAILABLE, 'the first certificate is not the other CA\'s');
    // Rotate as a Secret update does: new files moved into place.
    await fs.copyFile(certs.serverByOther.cert, `${cert}.new`);
    await fs.copyFile(certs.serverByOther.key, `${key}.new`);
    await fs.rename(`${key}.new`, key);
    await fs.rename(`${cert}.new`, cert);
    let code: number = grpc.status.UNAVAILABLE;
    for (let i = 0; i < 40 && code !== grpc.status.OK; i++) {
      await new Promise((r) => setTimeout(r, 500));
      code = await byOther();
    }
    t.is(code, grpc.status.OK, 'the rotated certificate was never served');
  });
});

test('tokens: 1,000 calls without or with a wrong token all UNAUTHENTICATED, none decoded or inferred, no token logged; health open, KServe closed; a valid token answered', async (t) => {
  const dir = await tempDir('tokens');
  const secret = 'a'.repeat(8) + 'Zq9-secret-token-' + 'b'.repeat(8);
  const tokensFile = path.join(dir, 'tokens');
  await fs.writeFile(tokensFile, `# who may call\nalice ${secret}\n`);
  const lines: string[] = [];
  await withServer({ authTokens: tokensFile, metricsPort: 0, logger: createLogger('debug', (l) => lines.push(l)) }, async (s) => {
    const image = await png(4);
    const anonymous = new AlexNetClient(s.address);
    const wrong = new AlexNetClient(s.address, {}, { token: secret.slice(0, -1) + 'c' });
    const codes = await Promise.all(Array.from({ length: 1000 }, (_, i) => codeOf((i % 2 ? anonymous : wrong).classify({ image }))));
    t.deepEqual([...new Set(codes)], [grpc.status.UNAUTHENTICATED]);
    const m = await scrape(s.metricsPort!);
    t.is(total(m, 'alexnet_grpc_server_handled_total', { grpc_method: 'Classify', grpc_code: 'UNAUTHENTICATED' }), 1000);
    t.is(total(m, 'alexnet_decode_seconds_count'), 0, 'no image decoded');
    t.is(total(m, 'alexnet_images_inferred_total'), 0, 'no image inferred');

    // grpc.health.v1 answers without a token (probes).
    const health = new grpc.Client(s.address, grpc.credentials.createInsecure());
    const status = await new Promise<Buffer>((resolve, reject) =>
      health.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e, r) => (e ? reject(e) : resolve(r!))),
    );
    t.deepEqual([...status], [0x08, 0x01], 'SERVING');
    // The standard protocol's front door is behind the same check (an empty ServerLiveRequest).
    const kserve = await new Promise<grpc.ServiceError | null>((resolve) =>
      health.makeUnaryRequest('/inference.GRPCInferenceService/ServerLive', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e)),
    );
    t.is(kserve?.code, grpc.status.UNAUTHENTICATED);
    health.close();

    const alice = new AlexNetClient(s.address, {}, { token: secret });
    t.is((await alice.classify({ image })).classes.length, 5);
    const file = path.join(dir, 'x.png');
    const tokenFile = path.join(dir, 'my-token');
    await fs.writeFile(file, image);
    await fs.writeFile(tokenFile, `${secret}\n`);
    t.is((await cli('classify', file, '--server', s.address, '--token-file', tokenFile)).code, 0);
    const refused = await cli('classify', file, '--server', s.address);
    t.is(refused.code, 1);
    t.regex(refused.err, /refused the call: this server needs a token/);
    const wrongFile = path.join(dir, 'wrong-token');
    await fs.writeFile(wrongFile, 'not-a-token-of-this-server\n');
    const mistyped = await cli('classify', file, '--server', s.address, '--token-file', wrongFile);
    t.is(mistyped.code, 1);
    t.regex(mistyped.err, /refused the call: the token sent is not one this server accepts/);
    t.false(mistyped.err.includes('not-a-token-of-this-server'), 'the token is not echoed');
    for (const c of [anonymous, wrong, alice]) c.close();
  });
  t.false(lines.some((l) => l.includes(secret) || l.includes(secret.slice(0, -1))), 'a token reached the logs');
  t.true(lines.some((l) => JSON.parse(l).msg === 'call' && JSON.parse(l).token === 'alice'), "the token's name is in the call's log line");
});

type HealthStub = grpc.Client & {
  Check(req: { service: string }, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

/** grpc.health.v1 from the .proto grpc-health-check ships, loaded here. */
function healthClient(address: string): HealthStub {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthStub } } } };
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

/** The first status a Watch of `service` sends; the call is cancelled then, as a client that has its answer does, and resolves once it has ended. */
function firstWatched(h: HealthStub, service: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let first: string | undefined;
    const call = h.Watch({ service });
    call.on('data', (r: { status: string }) => {
      first ??= r.status;
      call.cancel();
    });
    call.on('error', () => undefined);
    call.on('status', () => resolve(first));
  });
}

// Serial (alone in this process) so that the heap measured is the server's doing.
test.serial('health, open without a token, keeps nothing a caller sends: 256 Watch calls naming unknown 1 MiB services leave the heap as it was; Check quotes an unknown name cut short', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = await tempDir('health-tokens');
  const tokensFile = path.join(dir, 'tokens');
  await fs.writeFile(tokensFile, 'probe-0123456789abcdef\n');
  await withServer({ authTokens: tokensFile }, async (s) => {
    const h = healthClient(s.address);
    t.is(await firstWatched(h, ''), 'SERVING', 'a known name is watched as before');
    t.is(await firstWatched(h, 'no.such.Service'), 'SERVICE_UNKNOWN');
    const mib = 'y'.repeat(2 ** 20);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 256; i++) t.is(await firstWatched(h, `${i}${mib}`), 'SERVICE_UNKNOWN');
    gc();
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    t.true(grown < 64, `the heap grew by ${grown.toFixed(0)} MiB after 256 MiB of names`);
    // A name echoed whole would not fit in the trailers a client takes (the call would hang): the deadline only ends such a hang.
    const notFound = await new Promise<grpc.ServiceError | null>((resolve) => h.Check({ service: 'x'.repeat(100_000) }, { deadline: Date.now() + 30_000 }, (e) => resolve(e)));
    t.is(notFound?.code, grpc.status.NOT_FOUND);
    t.true(notFound!.details.length < 1000, `the name is not echoed whole (${notFound!.details.length} characters)`);
    h.close();
  });
});

/** A protobuf length-delimited field (wire type 2) number `field`, written here. */
function bytesField(field: number, bytes: Buffer): Buffer {
  const length: number[] = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), bytes]);
}
/** A message of one string field, number 1 (ModelMetadataRequest's name). */
const stringField1 = (text: string) => bytesField(1, Buffer.from(text, 'utf8'));

test('a long name a caller sends is not echoed whole: NOT_FOUND for 100,000-character KServe model names arrives cut (a surrogate pair kept whole), and the connection serves the next call', async (t) => {
  await withServer({}, async (s) => {
    const c = new grpc.Client(s.address, grpc.credentials.createInsecure());
    // The deadline only ends a hang: a status whose trailers the client refuses never arrives.
    const call = (method: string, body: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => c.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + 30_000 }, (e) => resolve(e)));
    for (const name of ['m'.repeat(100_000), `a${'\u{1F600}'.repeat(50_000)}`]) {
      const e = await call('ModelMetadata', stringField1(name));
      t.is(e?.code, grpc.status.NOT_FOUND, e?.details.slice(0, 200));
      t.true(e!.details.length < 4200, `${e!.details.length} characters of details`);
      t.regex(e!.details, /^no model "/);
      t.false(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(e!.details), 'no half of a surrogate pair');
      t.is(await call('ServerLive', Buffer.alloc(0)), null, 'the connection serves the next call');
    }
    c.close();
  });
});

test('a raw BYTES tensor of 15 MiB of empty elements for shape [1] is refused at its second element, not split into 4 million first', async (t) => {
  await withServer({}, async (s) => {
    const c = new grpc.Client(s.address, grpc.credentials.createInsecure());
    // ModelInferRequest { model_name = 1; inputs = 5 { name = 1; datatype = 2; shape = 3 (packed) }; raw_input_contents = 7 }
    const input = Buffer.concat([bytesField(1, Buffer.from('images')), bytesField(2, Buffer.from('BYTES')), bytesField(3, Buffer.from([1]))]);
    const request = Buffer.concat([stringField1(s.info.model!.name!), bytesField(5, input), bytesField(7, Buffer.alloc(15 << 20))]);
    const e = await new Promise<grpc.ServiceError | null>((resolve) => c.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, request, (err) => resolve(err)));
    t.is(e?.code, grpc.status.INVALID_ARGUMENT);
    // Every 4 bytes of zeros is one empty element: counting them all would say 3932160.
    t.regex(e!.details, /input images has more than 1 elements in raw_input_contents .* for shape \[1\]: send 1/);
    c.close();
  });
});

test('a request of millions of tiny values is refused before it is decoded: 4 MiB of empty KServe inputs, or of empty bytes_contents inside one input, is RESOURCE_EXHAUSTED', async (t) => {
  await withServer({ metricsPort: 0 }, async (s) => {
    const c = new grpc.Client(s.address, grpc.credentials.createInsecure());
    const call = (request: Buffer) => new Promise<grpc.ServiceError | null>((resolve) => c.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, request, (err) => resolve(err)));
    const repeated = (field: number, mib: number) => Buffer.alloc(mib << 20).fill(Buffer.from([(field << 3) | 2, 0]));
    // 2 million empty InferInputTensor messages (field 5), each decoded into an object of its own.
    const inputs = await call(Buffer.concat([stringField1(s.info.model!.name!), repeated(5, 4)]));
    // One input whose contents (field 5) hold a million empty bytes_contents (field 8).
    const nested = await call(bytesField(5, bytesField(5, repeated(8, 2))));
    for (const e of [inputs, nested]) {
      t.is(e?.code, grpc.status.RESOURCE_EXHAUSTED, e?.details);
      t.regex(e!.details, /more than 400000 values/);
    }
    t.is(await call(stringField1(s.info.model!.name!)).then((e) => e?.code), grpc.status.INVALID_ARGUMENT, 'a small request is decoded and answered');
    c.close();
    const m = await scrape(s.metricsPort!);
    t.is(total(m, 'alexnet_grpc_server_handled_total', { grpc_method: 'ModelInfer', grpc_code: 'RESOURCE_EXHAUSTED' }), 2);
  });
});

test('startup refusals: a key of another certificate, a missing file, an empty tokens file; a warning for an open non-loopback port', async (t) => {
  await t.throwsAsync(serve({ tls: { cert: certs.server.cert, key: certs.client.key } }), { message: /is not the key of the certificate/ });
  await t.throwsAsync(serve({ tls: { cert: path.join(certs.dir, 'missing.crt'), key: certs.server.key } }), { message: /cannot read the certificate/ });
  const empty = path.join(certs.dir, 'empty-tokens');
  await fs.writeFile(empty, '# nothing\n');
  await t.throwsAsync(serve({ authTokens: empty }), { message: /holds no token/ });
  const short = path.join(certs.dir, 'short-tokens');
  await fs.writeFile(short, 'bob abc\n');
  await t.throwsAsync(serve({ authTokens: short }), { message: /at least 16/ });
  const lines: string[] = [];
  await withServer({ host: '0.0.0.0', logger: createLogger('warn', (l) => lines.push(l)) }, async () => undefined);
  t.true(lines.some((l) => /without TLS or tokens/.test(l)));
});
