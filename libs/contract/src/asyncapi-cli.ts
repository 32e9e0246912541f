import { writeFileSync } from 'node:fs';
import { renderAsyncApiYaml } from './asyncapi';

/**
 * Writes the AsyncAPI document: `node dist/libs/contract/src/asyncapi-cli.js [file]`
 * (`npm run docs:asyncapi` builds first and writes docs/asyncapi.yaml). Without a file, prints it.
 */
const target = process.argv[2];
const text = renderAsyncApiYaml();
if (target) {
  writeFileSync(target, text);
  process.stderr.write(`wrote ${target}\n`);
} else {
  process.stdout.write(text);
}
