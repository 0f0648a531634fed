/** The ImageSearch contract (test/search-contract.ts) against the LanceDB backend: an index directory per server. */
import { defineSearchContract } from '../search-contract.js';
import { tempDir } from '../temp-dir.js';

defineSearchContract('lancedb', (label) => tempDir(`search-${label}`));
