// The CLI as its tests run it (in-process, output captured), and a scratch folder for images.
// Not part of the build.
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CliIo } from '../src/io';
import { run } from '../src/main';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

export async function cli(argv: string[], env: Record<string, string> = {}): Promise<Captured> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => (out += t), stderr: (t) => (err += t), env };
  const code = await run(argv, io);
  return { code, out, err };
}

/** A temporary folder for the test file (removed after all its tests); `file` writes into it. */
export function scratchFolder(prefix = 'fleetcompat-cli-'): {
  dir: () => string;
  file: (name: string, bytes: Uint8Array) => string;
} {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir: () => dir,
    file: (name, bytes) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    },
  };
}

/** No stack trace ever reaches the user. */
export function expectNoTrace(c: Captured): void {
  expect(c.err + c.out).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(c.err + c.out).not.toMatch(/TypeError|RangeError|ReferenceError/);
}
