/**
 * The server's certificate files, followed as they change and checked on every read. grpc-js's
 * FileWatcherCertificateProvider hands whatever it reads to OpenSSL: a half-written certificate,
 * garbage, or a certificate replaced before its key made every new handshake fail until the files
 * were fixed. This provider (the same grpc-js CertificateProvider interface) reads the files every
 * `refreshIntervalMs`, applies the start-up checks to what it read, and passes on only a valid
 * set: anything else is logged as an error naming the file and why, and the last valid
 * certificate keeps being served. A rotation that writes the certificate, then the key, is picked
 * up once both are in place.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from './log.js';
import { checkKeyPair, pemCertificates, TlsFileError } from './tls-pem.js';

type Provider = grpc.experimental.CertificateProvider;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

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

/** The bytes of one read of the files. */
interface TlsBytes {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

/** A set that passed the checks, with its certificate (for the logs). */
interface CheckedTls extends TlsBytes {
  leaf: X509Certificate;
}

const OPTIONS = { cert: '--tls-cert', key: '--tls-key', clientCa: '--tls-client-ca' } as const;
const WHAT = { cert: 'certificate', key: 'private key', clientCa: 'client CA' } as const;

function readError(tls: TlsFiles, which: keyof TlsFiles, e: unknown): TlsFileError {
  return new TlsFileError(tls[which]!, `cannot read the ${WHAT[which]} (${OPTIONS[which]}) ${tls[which]}: ${(e as Error).message}`);
}

function readSync(tls: TlsFiles): TlsBytes {
  const one = (which: keyof TlsFiles) => {
    try {
      return readFileSync(tls[which]!);
    } catch (e) {
      throw readError(tls, which, e);
    }
  };
  return { cert: one('cert'), key: one('key'), ...(tls.clientCa ? { clientCa: one('clientCa') } : {}) };
}

async function readAsync(tls: TlsFiles): Promise<TlsBytes> {
  const one = (which: keyof TlsFiles) => readFile(tls[which]!).catch((e: unknown) => Promise.reject(readError(tls, which, e)));
  const [cert, key, clientCa] = await Promise.all([one('cert'), one('key'), tls.clientCa ? one('clientCa') : undefined]);
  return { cert, key, ...(clientCa ? { clientCa } : {}) };
}

/** The start-up rules, the same for every reload: PEM certificates, the key of the certificate, not expired, a client CA that is a certificate. */
function check(tls: TlsFiles, bytes: TlsBytes): CheckedTls {
  const f = (which: keyof TlsFiles) => ({ option: OPTIONS[which], file: tls[which]! });
  const leaf = checkKeyPair(bytes.cert, bytes.key, f('cert'), f('key'));
  if (new Date(leaf.validTo).getTime() < Date.now()) throw new TlsFileError(tls.cert, `the certificate ${tls.cert} expired on ${leaf.validTo}`);
  if (bytes.clientCa) pemCertificates(bytes.clientCa, f('clientCa'));
  return { ...bytes, leaf };
}

/** What was read, good or bad, so that an unchanged file is neither checked nor logged again. */
function digestOf(read: TlsBytes | Error): string {
  const h = createHash('sha256');
  if (read instanceof Error) h.update(`error:${read.message}`);
  else for (const b of [read.cert, read.key, read.clientCa ?? Buffer.alloc(0)]) h.update(createHash('sha256').update(b).digest());
  return h.digest('hex');
}

/** The fields that tell one certificate from another in a log line. */
const describe = (leaf: X509Certificate) => ({ serial: leaf.serialNumber, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo });

/** The outcome of one reload: nothing changed, a new valid set is served, or the files were refused. */
export type ReloadOutcome = 'unchanged' | 'loaded' | 'refused';

export class CheckedCertificateFiles implements Provider {
  private current: CheckedTls;
  private lastRead: string;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<ReloadOutcome> | undefined;

  /** Reads and checks the files now: a ConfigError (the server does not start) if they are not valid. */
  constructor(
    readonly files: TlsFiles,
    private readonly log: Logger,
    private readonly refreshIntervalMs = TLS_REFRESH_MS,
  ) {
    const bytes = readSync(files);
    this.current = check(files, bytes);
    this.lastRead = digestOf(bytes);
  }

  /** Reads the files once (one read at a time) and serves them if they changed and are valid. */
  reload(): Promise<ReloadOutcome> {
    this.reading ??= this.readAndCheck().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readAndCheck(): Promise<ReloadOutcome> {
    let bytes: TlsBytes;
    try {
      bytes = await readAsync(this.files);
    } catch (e) {
      return this.refuse(e);
    }
    const digest = digestOf(bytes);
    if (digest === this.lastRead) return 'unchanged';
    let checked: CheckedTls;
    try {
      checked = check(this.files, bytes);
    } catch (e) {
      return this.refuse(e, digest);
    }
    this.lastRead = digest;
    this.current = checked;
    this.log.info('TLS certificate loaded', { file: this.files.cert, ...describe(checked.leaf) });
    this.notify();
    return 'loaded';
  }

  /** Keeps the current set; logs the reason once per distinct bad read (not every few seconds while the files stay bad). */
  private refuse(e: unknown, digest = digestOf(e as Error)): ReloadOutcome {
    if (digest === this.lastRead) return 'unchanged';
    this.lastRead = digest;
    this.log.error('TLS certificate files refused: still serving the previous certificate', {
      file: e instanceof TlsFileError ? e.file : this.files.cert,
      error: (e as Error).message,
      serving: describe(this.current.leaf),
    });
    return 'refused';
  }

  private notify(): void {
    for (const l of this.identityListeners) l(this.identityUpdate());
    for (const l of this.caListeners) l(this.caUpdate());
  }

  private identityUpdate() {
    return { certificate: this.current.cert, privateKey: this.current.key };
  }

  private caUpdate() {
    return this.current.clientCa ? { caCertificate: this.current.clientCa } : null;
  }

  // The CertificateProvider interface. A new listener gets the current set on the next tick, as
  // grpc-js's own provider does: grpc-js registers the server that waits for it only after
  // subscribing, so a synchronous call would reach no server. The files are read only while
  // someone listens (a bound server).
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
    this.follow();
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.follow();
  }
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener(this.caUpdate()));
    this.follow();
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.follow();
  }

  private follow(): void {
    const wanted = this.identityListeners.size + this.caListeners.size > 0;
    if (wanted && !this.timer) {
      // unref: a provider left behind must not keep the process alive (the bound server does).
      this.timer = setInterval(() => void this.reload(), this.refreshIntervalMs).unref();
    } else if (!wanted && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
