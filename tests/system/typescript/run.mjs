// Runs the compiled client (tsc -p . --noEmit false --outDir out) against live servers:
// node run.mjs SAMPLE_URL EDGE_URL prints {"books": ..., "edge": ...} as JSON.
import { books, edge } from "./out/client.js";

const [sampleUrl, edgeUrl] = process.argv.slice(2);
const summary = { books: await books(sampleUrl), edge: await edge(edgeUrl) };
process.stdout.write(`${JSON.stringify(summary)}\n`);
