/**
 * The server's transport security: plaintext, TLS (`--tls-cert/--tls-key`), or mutual TLS
 * (`--tls-client-ca`: a client without a certificate signed by that CA cannot connect). The files
 * are checked at start (a readable PEM certificate, a key that belongs to it), then followed by
 * grpc-js's FileWatcherCertificateProvider: a rotated certificate (files replaced in place, or a
 * Kubernetes Secret's symlink swap) is used for new connections without a restart.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../errors.js';

export interface TlsFiles {
  /** PEM certificate chain of the server. */
  cert: string;
  /** PEM private key of that certificate. */
  key: string;
  /** PEM CA bundle: clients must present a certificate it signed (mTLS). */
  clientCa?: string;
}

/** How often the certificate files are read again. */
export const TLS_REFRESH_MS = 5_000;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The certificate files are what they claim: a ConfigError saying which is not. */
export function checkTlsFiles(tls: TlsFiles): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(read(tls.cert, 'certificate (--tls-cert)'));
  } catch (e) {
    throw e instanceof ConfigError ? e : new ConfigError(`--tls-cert ${tls.cert} is not a PEM certificate: ${(e as Error).message}`);
  }
  let ok: boolean;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(read(tls.key, 'private key (--tls-key)')));
  } catch (e) {
    throw e instanceof ConfigError ? e : new ConfigError(`--tls-key ${tls.key} is not a PEM private key: ${(e as Error).message}`);
  }
  if (!ok) throw new ConfigError(`--tls-key ${tls.key} is not the key of the certificate ${tls.cert}`);
  if (new Date(cert.validTo).getTime() < Date.now()) throw new ConfigError(`the certificate ${tls.cert} expired on ${cert.validTo}`);
  if (tls.clientCa) {
    try {
      new X509Certificate(read(tls.clientCa, 'client CA (--tls-client-ca)'));
    } catch (e) {
      throw e instanceof ConfigError ? e : new ConfigError(`--tls-client-ca ${tls.clientCa} is not a PEM certificate: ${(e as Error).message}`);
    }
  }
}

/** The credentials to bind with: insecure without files, else TLS (mTLS with a client CA) following the files. */
export function serverCredentials(tls: TlsFiles | undefined, refreshIntervalMs = TLS_REFRESH_MS): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  checkTlsFiles(tls);
  const provider = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: tls.cert,
    privateKeyFile: tls.key,
    ...(tls.clientCa ? { caCertificateFile: tls.clientCa } : {}),
    refreshIntervalMs,
  });
  // grpc-js 1.14 passes this function's first argument to the credentials' identity slot and its
  // second to the CA slot, whatever their names say.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, tls.clientCa ? provider : null, !!tls.clientCa);
}

/** An address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
