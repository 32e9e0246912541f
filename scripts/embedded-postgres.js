#!/usr/bin/env node
// Run the embedded Postgres (libs/platform/src/database/embedded-postgres.ts) as a foreground
// process until SIGTERM/SIGINT: used by scripts/test.sh on machines without a Postgres server.
// It does not need `npm run build`: the .ts file is transpiled in memory with the project's
// TypeScript.
//
//   node scripts/embedded-postgres.js [--port PORT] [--data-dir DIR]   (default: EMBEDDED_PG_PORT, EMBEDDED_PG_DATA_DIR)
//        [--database postgres] [--fast] [--url-file FILE]
//
// Prints `EMBEDDED_PG_URL=<url>` on stdout once it accepts connections (and writes the URL to
// --url-file when given).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

function loadTs(file) {
  const ts = require('typescript');
  const source = fs.readFileSync(file, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  m._compile(outputText, file);
  return m.exports;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--fast') out.fast = true;
    else if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--data-dir') out.dataDir = argv[++i];
    else if (a === '--database') out.database = argv[++i];
    else if (a === '--url-file') out.urlFile = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const root = path.resolve(__dirname, '..');
  const { startEmbeddedPostgres } = loadTs(path.join(root, 'libs/platform/src/database/embedded-postgres.ts'));
  // Defaults: the service's validated settings (EMBEDDED_PG_PORT, EMBEDDED_PG_DATA_DIR).
  const { loadSettings } = loadTs(path.join(root, 'libs/platform/src/config.ts'));
  const settings = args.port && args.dataDir ? undefined : loadSettings();
  const pg = await startEmbeddedPostgres({
    port: args.port ?? settings.EMBEDDED_PG_PORT,
    dataDir: args.dataDir ?? settings.EMBEDDED_PG_DATA_DIR,
    database: args.database,
    fast: args.fast,
  });
  if (args.urlFile) fs.writeFileSync(args.urlFile, pg.url + '\n');
  process.stdout.write(`EMBEDDED_PG_URL=${pg.url}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await pg.stop().catch((e) => console.error(e));
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => undefined, 1 << 30); // stay alive
}

main().catch((err) => {
  console.error(`embedded-postgres: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
