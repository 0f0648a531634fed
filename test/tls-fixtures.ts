/** Certificates for the TLS tests, made by the openssl command (a tool we did not write): CAs, a server certificate for 127.0.0.1, client certificates. */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pem {
  cert: string;
  key: string;
}

/** A self-signed CA in dir/<name>.crt and .key. */
export async function makeCa(dir: string, name: string): Promise<Pem> {
  const p = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', p.key, '-out', p.cert]);
  return p;
}

/** A leaf certificate signed by `ca`: a server's (SAN 127.0.0.1 and localhost, or `san` as openssl writes it) or a client's. */
export async function makeLeaf(dir: string, name: string, ca: Pem, kind: 'server' | 'client', san = 'IP:127.0.0.1,DNS:localhost'): Promise<Pem> {
  const p = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await fs.writeFile(ext, kind === 'server' ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n` : 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', p.key, '-out', csr]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', p.cert]);
  return p;
}
