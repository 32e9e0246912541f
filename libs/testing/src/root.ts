import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root, from the sources (libs/testing/src) or the build (dist/libs/testing/src). */
export const ROOT: string = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../../../..')].find((d) =>
  existsSync(path.join(d, 'package.json')),
)!;
