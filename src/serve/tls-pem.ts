/**
 * What a TLS file must hold before it reaches OpenSSL: PEM certificates (a chain, a CA bundle),
 * and a private key that belongs to its certificate. OpenSSL's own complaints name no file and,
 * for a CA, come only on the wire ("no start line", "key values mismatch", "self-signed
 * certificate in certificate chain"); these checks say which file is wrong and how. The server
 * runs them at start and on every reload of rotated files, the CLI's client options before
 * connecting.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';

/** A TLS file that is not what its option says: `file` names it, the message says why. */
export class TlsFileError extends ConfigError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** A file as the user named it: the option and the path (`--tls-cert tls.crt`). */
export interface TlsFile {
  option: string;
  file: string;
}

const named = (f: TlsFile) => `${f.option} ${f.file}`;
const BEGIN = '-----BEGIN CERTIFICATE-----';
const BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Every certificate of a PEM file, in order; a TlsFileError when there is none or one does not
 * parse. A block that begins but never ends is refused too: it is what a half-written file looks
 * like, and OpenSSL would quietly serve the chain without its tail.
 */
export function pemCertificates(pem: Buffer, f: TlsFile): X509Certificate[] {
  const text = pem.toString('latin1');
  const blocks = text.match(BLOCK) ?? [];
  const begun = text.split(BEGIN).length - 1;
  if (begun === 0) throw new TlsFileError(f.file, `${named(f)} is not a PEM certificate (no "${BEGIN}" line)`);
  if (blocks.length !== begun) throw new TlsFileError(f.file, `${named(f)} ends inside a certificate: the file is cut short (still being written?)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new TlsFileError(f.file, `${named(f)}: certificate ${i + 1} of ${blocks.length} does not parse (${(e as Error).message})`);
    }
  });
}

/**
 * The certificate (the first of its chain) and the key belong together: a TlsFileError naming
 * the file at fault if not. OpenSSL builds the same context at the end, so whatever it would
 * refuse when serving or connecting (a key it cannot use) is refused here, by name.
 */
export function checkKeyPair(cert: Buffer, key: Buffer, certFile: TlsFile, keyFile: TlsFile): X509Certificate {
  const leaf = pemCertificates(cert, certFile)[0]!;
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new TlsFileError(keyFile.file, `${named(keyFile)} is not a PEM private key (${(e as Error).message})`);
  }
  if (!matches) throw new TlsFileError(keyFile.file, `${named(keyFile)} is not the key of the certificate ${named(certFile)}: give the key made with that certificate`);
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new TlsFileError(certFile.file, `${named(certFile)} with ${named(keyFile)} is refused by OpenSSL (${(e as Error).message})`);
  }
  return leaf;
}
