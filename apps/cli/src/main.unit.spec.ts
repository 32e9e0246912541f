import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { gunzipSync } from 'zlib';
import { buildBzImage, fixture, linux415 } from '../../../libs/kernel-notes/src/test/synth';

/*
 * The CLI as a process: compiled from source (the CLI and the libraries it imports only, into
 * a temporary directory, so that unrelated work in progress elsewhere in the tree does not
 * matter), then spawned for the real exit codes, stdout and stderr.
 */
const ROOT = resolve(__dirname, '../../..');
let out: string;
let main: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'fleetcompat-cli-build-'));
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        outDir: join(out, 'dist'),
        rootDir: ROOT,
        baseUrl: ROOT,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
        sourceMap: false,
      },
      files: [join(ROOT, 'apps/cli/src/main.ts')],
      include: [],
    }),
  );
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
    stdio: 'inherit',
    timeout: 120000,
  });
  // resolve @fleetcompat/<lib> the way tsc-alias rewrites it in the real build
  const alias = join(out, 'alias.js');
  writeFileSync(
    alias,
    `const M = require('module'); const path = require('path'); const orig = M._resolveFilename;
M._resolveFilename = function (req, ...rest) {
  const m = /^@fleetcompat\\/([a-z-]+)$/.exec(req);
  return orig.call(this, m ? path.join(${JSON.stringify(join(out, 'dist/libs'))}, m[1], 'src') : req, ...rest);
};`,
  );
  main = join(out, 'dist/apps/cli/src/main.js');
  env = { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), NODE_OPTIONS: `--require ${alias}` };
}, 180000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

function spawn(args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], {
    env,
    encoding: 'utf8',
    timeout: 60000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

it('inspect: exit 0 and the table on a good image', () => {
  const img = join(out, 'vmlinuz');
  const vmlinuxSize = gunzipSync(fixture('vmlinux-4.17.gz')).length;
  writeFileSync(img, buildBzImage(fixture('vmlinux-4.17.lz4'), vmlinuxSize));
  const r = spawn(['kernel', 'inspect', img]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^RSDP \(libxl\)\s+high/m);
  const j = spawn(['kernel', 'inspect', '--json', join(out, 'vmlinuz')]);
  expect(JSON.parse(j.out).xenNotes.supportedFeatures).toBe(0x8801);
});

it('inspect: exit 1 and one line on a truncated image, no stack trace', () => {
  const img = join(out, 'truncated');
  writeFileSync(img, linux415().subarray(0, 150));
  const r = spawn(['kernel', 'inspect', img]);
  expect(r.code).toBe(1);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^fleetcompat kernel: .*truncated: .* \[truncated\]\n$/);
});

it('exit 2 on usage errors', () => {
  expect(spawn(['kernel', 'inspect']).code).toBe(2);
  expect(spawn(['nosuchgroup']).code).toBe(2);
});
