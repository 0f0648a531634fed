/**
 * The client side of TLS: no server name (SNI) sent to an IP address (RFC 6066; Node's DEP0123),
 * yet the certificate still checked against that IP; a DNS name still sent; the CLI's TLS files
 * checked before connecting, with one `alexnet:` line naming the file. Real servers on 127.0.0.1,
 * the CLI as a child process, certificates made by openssl.
 */
import test from 'ava';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { cli, MODEL, png, quiet } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { makeCa, makeLeaf, type Pem } from '../tls-fixtures.js';

const certs = {} as { dir: string; ca: Pem; server: Pem; otherIp: Pem; client: Pem; other: Pem; image: string };
test.before(async () => {
  const dir = (certs.dir = await tempDir('tls-client'));
  certs.ca = await makeCa(dir, 'ca');
  certs.server = await makeLeaf(dir, 'server', certs.ca, 'server');
  certs.otherIp = await makeLeaf(dir, 'other-ip', certs.ca, 'server', 'IP:127.0.0.2');
  certs.client = await makeLeaf(dir, 'client', certs.ca, 'client');
  certs.other = await makeLeaf(dir, 'other', certs.ca, 'client');
  certs.image = path.join(dir, 'x.png');
  await fs.writeFile(certs.image, await png(6));
});

async function withServer(pem: Pem, f: (s: RunningServer) => Promise<void>): Promise<void> {
  const s = await startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, logger: quiet, tls: { cert: pem.cert, key: pem.key } });
  try {
    await f(s);
  } finally {
    await s.shutdown('test done');
  }
}

test('SNI: the name a client sends is the DNS name it was given, and none for an IP address', async (t) => {
  // A bare TLS server (not gRPC): it records what each handshake asked for, then hangs up.
  const names: Array<string | false> = [];
  const server = createServer({ cert: await fs.readFile(certs.server.cert), key: await fs.readFile(certs.server.key), ALPNProtocols: ['h2'] }, (s: TLSSocket) => {
    names.push(s.servername as string | false);
    s.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const ca = await fs.readFile(certs.ca.cert);
  for (const host of ['127.0.0.1', 'localhost']) {
    const c = new AlexNetClient(`${host}:${port}`, {}, { tls: { ca } });
    await c.classify({ image: Buffer.from('x') }, { timeoutMs: 2000 }).catch(() => undefined);
    c.close();
  }
  server.close();
  t.true(names.length >= 2, `${names.length} handshakes`);
  t.true(names.includes(false), 'a handshake to 127.0.0.1 without a server name');
  t.true(names.includes('localhost'), 'a handshake to localhost with its name');
  t.false(names.includes('127.0.0.1'), 'an IP sent as the server name');
});

test('the CLI over TLS to an IP: answered, no DEP0123; a certificate for another IP is refused', async (t) => {
  await withServer(certs.server, async (s) => {
    t.regex(s.address, /^127\.0\.0\.1:\d+$/);
    const r = await cli('classify', certs.image, '--server', s.address, '--tls-ca', certs.ca.cert, '--json');
    t.is(r.code, 0, r.err);
    t.is(JSON.parse(r.out)[0].classes.length, 5);
    t.notRegex(r.err, /DEP0123|ServerName/);
  });
  await withServer(certs.otherIp, async (s) => {
    const r = await cli('classify', certs.image, '--server', s.address, '--tls-ca', certs.ca.cert, '--timeout', '5');
    t.is(r.code, 1);
    t.regex(r.err, /127\.0\.0\.1 is not in the cert's list/, 'the IP is checked against the IP SANs');
    const c = new AlexNetClient(s.address, {}, { tls: { ca: await fs.readFile(certs.ca.cert) } });
    const code = await c.classify({ image: await png(6) }, { timeoutMs: 5000 }).then(
      () => grpc.status.OK,
      (e: { code: number }) => e.code,
    );
    c.close();
    t.is(code, grpc.status.UNAVAILABLE);
  });
});

test('the CLI refuses a client key of another certificate and a CA file without a certificate, in one line naming the files', async (t) => {
  const oneLine = (err: string) => {
    const lines = err.trim().split('\n');
    t.is(lines.length, 1, err);
    t.regex(lines[0]!, /^alexnet: /);
    t.notRegex(err, /ERR_OSSL|\n\s+at /);
  };
  // Refused before connecting: nothing listens on port 1.
  const mismatch = await cli('classify', certs.image, '--server', 'localhost:1', '--tls-ca', certs.ca.cert, '--tls-cert', certs.client.cert, '--tls-key', certs.other.key);
  t.is(mismatch.code, 1);
  oneLine(mismatch.err);
  t.true(mismatch.err.includes(`--tls-key ${certs.other.key} is not the key of the certificate --tls-cert ${certs.client.cert}`), mismatch.err);

  for (const notCa of [certs.image, certs.ca.key]) {
    const r = await cli('classify', certs.image, '--server', 'localhost:1', '--tls-ca', notCa);
    t.is(r.code, 1);
    oneLine(r.err);
    t.true(r.err.includes(`--tls-ca ${notCa} is not a PEM certificate`), r.err);
  }
  const half = path.join(certs.dir, 'half-ca.crt');
  const pem = await fs.readFile(certs.ca.cert, 'utf8');
  await fs.writeFile(half, pem.slice(0, pem.length / 2));
  const r = await cli('classify', certs.image, '--server', 'localhost:1', '--tls-ca', half);
  t.is(r.code, 1);
  oneLine(r.err);
  t.true(r.err.includes(`--tls-ca ${half} ends inside a certificate`), r.err);
});
