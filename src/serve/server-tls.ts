/**
 * The server's transport security: plaintext, TLS (`--tls-cert/--tls-key`), or mutual TLS
 * (`--tls-client-ca`: a client without a certificate signed by that CA cannot connect). The files
 * are checked at start (a readable PEM certificate, a key that belongs to it), then followed by
 * CheckedCertificateFiles (certificate-files.ts): a rotated certificate (files replaced in place,
 * or a Kubernetes Secret's symlink swap) is used for new connections without a restart, and a
 * bad rotation is refused with an error while the last valid certificate is served on.
 */
import * as grpc from '@grpc/grpc-js';
import { CheckedCertificateFiles, TLS_REFRESH_MS, type TlsFiles } from './certificate-files.js';
import type { Logger } from './log.js';

export { TLS_REFRESH_MS, type TlsFiles } from './certificate-files.js';

/** The credentials to bind with: insecure without files, else TLS (mTLS with a client CA) following the files. */
export function serverCredentials(tls: TlsFiles | undefined, log: Logger, refreshIntervalMs = TLS_REFRESH_MS): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const provider = new CheckedCertificateFiles(tls, log, refreshIntervalMs);
  // grpc-js 1.14 passes this function's first argument to the credentials' identity slot and its
  // second to the CA slot, whatever their names say.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, tls.clientCa ? provider : null, !!tls.clientCa);
}

/** An address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
