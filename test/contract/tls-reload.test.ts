/**
 * A bad certificate rotation does not take TLS down: a real server on 127.0.0.1 whose certificate
 * files are replaced by garbage, by half a certificate, and by a new certificate before its key
 * keeps serving the last valid certificate (read off the wire with tls.connect and compared with
 * the files openssl made), logs an error naming the file for each, and serves the new pair once
 * its key is in place.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { connect } from 'node:tls';
import { AlexNetClient } from '../../src/serve/client.js';
import { createLogger } from '../../src/serve/log.js';
import { startServer } from '../../src/serve/server.js';
import { MODEL, png } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { makeCa, makeLeaf } from '../tls-fixtures.js';

interface LogLine {
  level: string;
  msg: string;
  file?: string;
  error?: string;
  fingerprint256?: string;
  serving?: { fingerprint256: string };
}

/** A logger for the server, and a wait for its first line (from now on) that matches: the server reads the files every 5 s. */
function logWatcher() {
  const waiting: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const logger = createLogger('info', (text) => {
    const line = JSON.parse(text) as LogLine;
    for (const w of waiting.filter((w) => w.match(line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
    }
  });
  // Bounded so that a server that never logs it fails the test instead of hanging it (six reads).
  const next = (match: (l: LogLine) => boolean, what: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line ${what} in 30 s`)), 30_000);
      waiting.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  return { logger, next };
}

/** The SHA-256 fingerprint of the certificate the server presents to a new connection that trusts `ca`. */
function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    // No servername: the address is an IP, and Node checks the certificate against `host`.
    const s = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

test('a bad rotation keeps the last valid certificate served, with an error naming the file; the new pair is served once both files are in place', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir('tls-reload');
  const ca = await makeCa(dir, 'ca');
  const first = await makeLeaf(dir, 'first', ca, 'server');
  const second = await makeLeaf(dir, 'second', ca, 'server');
  const fingerprint = async (file: string) => new X509Certificate(await fs.readFile(file)).fingerprint256;
  const [firstFp, secondFp] = [await fingerprint(first.cert), await fingerprint(second.cert)];
  t.not(firstFp, secondFp);
  const caPem = await fs.readFile(ca.cert);

  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  await fs.copyFile(first.cert, cert);
  await fs.copyFile(first.key, key);
  const log = logWatcher();
  const s = await startServer({ model: MODEL, port: 0, device: 'cpu', maxDelayMs: 5, logger: log.logger, tls: { cert, key } });
  const port = Number(s.address.split(':').pop());
  const image = await png(5);
  // A new client each time: a new connection, so a new handshake with what the server serves now.
  const classifies = async () => {
    const c = new AlexNetClient(s.address, {}, { tls: { ca: caPem } });
    try {
      return (await c.classify({ image }, { timeoutMs: 10_000 })).classes.length;
    } finally {
      c.close();
    }
  };
  const refusal = (file: string, why: RegExp) => log.next((l) => l.level === 'error' && l.file === file && why.test(l.error ?? ''), `refusing ${file} (${why.source})`);
  try {
    t.is(await servedFingerprint(port, caPem), firstFp);

    let refused = refusal(cert, /not a PEM certificate/);
    await fs.writeFile(cert, 'garbage\n');
    let line = await refused;
    t.is(line.serving?.fingerprint256, firstFp, 'the log says which certificate is still served');
    t.is(await servedFingerprint(port, caPem), firstFp, 'after garbage');
    t.is(await classifies(), 5);

    const pem = await fs.readFile(second.cert, 'utf8');
    refused = refusal(cert, /cut short/);
    await fs.writeFile(cert, pem.slice(0, Math.floor(pem.length / 2)));
    await refused;
    t.is(await servedFingerprint(port, caPem), firstFp, 'after half a certificate');

    // The certificate first, its key later: in between the key belongs to the old certificate.
    refused = refusal(key, /is not the key of the certificate/);
    await fs.writeFile(cert, pem);
    line = await refused;
    t.regex(line.error!, new RegExp(cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the message names the certificate too');
    t.is(await servedFingerprint(port, caPem), firstFp, 'after a certificate without its key');
    t.is(await classifies(), 5);

    const loaded = log.next((l) => l.msg === 'TLS certificate loaded', 'loading the new pair');
    await fs.copyFile(second.key, key);
    t.is((await loaded).fingerprint256, secondFp);
    t.is(await servedFingerprint(port, caPem), secondFp, 'the new pair is served to new connections');
    t.is(await classifies(), 5);
  } finally {
    await s.shutdown('test done');
  }
});
