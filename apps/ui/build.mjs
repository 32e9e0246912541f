// Bundles the planner's dashboard (apps/ui/src) into dist/ui for the API process to serve at
// /ui/ (libs/http-api/src/dashboard/ui-static.ts): one script and one stylesheet, named by
// their content hash, and index.html. Part of `npm run build`; nothing is fetched at run time.
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'dist/ui');
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'apps/ui/src/main.tsx', styles: 'apps/ui/src/styles.css' },
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const find = (entry) => {
  const hit = outputs.find(([, o]) => o.entryPoint === entry);
  if (!hit) throw new Error(`no output for ${entry}`);
  return path.relative(out, path.join(root, hit[0])).split(path.sep).join('/');
};
const script = find('apps/ui/src/main.tsx');
const styles = find('apps/ui/src/styles.css');

writeFileSync(
  path.join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>fleetcompat dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${styles}">
<script type="module" src="${script}"></script>
</head>
<body>
<div id="app"><main><p>Loading the dashboard…</p></main></div>
<noscript><p>The dashboard needs JavaScript. The API itself is documented at <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`,
);
const size = (f) => result.metafile.outputs[path.relative(root, path.join(out, f))]?.bytes ?? 0;
console.log(
  `ui: dist/ui/${script} (${Math.round(size(script) / 1024)} KiB), dist/ui/${styles} (${Math.round(size(styles) / 1024)} KiB), dist/ui/index.html`,
);
