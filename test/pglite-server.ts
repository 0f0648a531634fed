/**
 * A real PostgreSQL with pgvector for a test: PGlite (Postgres compiled to WebAssembly, in this
 * process) served on 127.0.0.1 over the wire protocol by @electric-sql/pglite-socket, so the code
 * under test talks to it with the real `pg` client as it would to any server.
 *
 * PGlite is ONE backend: the socket server accepts up to `maxConnections` sockets and runs their
 * queries one at a time, keeping a connection's open transaction to itself (other connections'
 * queries wait until it ends). Session state (SET, prepared statements) is shared by all of them,
 * so the code under test must keep settings transaction-local (SET LOCAL / set_config(..., true)),
 * and advisory locks never block (one session): the queueing is what serializes transactions.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import net from 'node:net';

export interface PgliteServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1 (the socket server takes a number, not 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** An empty in-memory database (or the one in `dataDir`, kept between servers), served until `stop`. */
export async function startPgliteServer(options: { dataDir?: string; maxConnections?: number } = {}): Promise<PgliteServer> {
  const db = await PGlite.create({ ...(options.dataDir ? { dataDir: options.dataDir } : {}), extensions: { vector } });
  const maxConnections = options.maxConnections ?? 4;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections });
    try {
      await server.start();
    } catch (e) {
      // Another process took the port between the probe and the bind: try another.
      if (attempt < 5 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      await db.close();
      throw e;
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        await server.stop();
        await db.close();
      },
    };
  }
}
