/** The ImageSearch contract (test/search-contract.ts) against the pgvector backend: PGlite + pgvector served on 127.0.0.1, a table per server, one test at a time (PGlite runs one transaction at a time). */
import test from 'ava';
import { startPgliteServer, type PgliteServer } from '../pglite-server.js';
import { defineSearchContract } from '../search-contract.js';

// Hooks run concurrently: the first location asked for starts the database.
let pg: Promise<PgliteServer> | undefined;
test.after.always(async () => (await pg)?.stop());

let tables = 0;
const PASSWORD = 'pw-in-the-query-1234';
defineSearchContract('pgvector', async (label) => {
  pg ??= startPgliteServer({ maxConnections: 16 });
  // A password in a parameter (pg takes it there too; PGlite asks for none) is never shown to a caller.
  return `${(await pg).url}?table=search_${label}_${tables++}&pool_max=4&password=${PASSWORD}`;
}, { serial: true });
