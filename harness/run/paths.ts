// Well-known places in the repository, found from this file whether it runs as TypeScript source
// (vitest) or compiled under dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'harness'))) return dir;
  }
  throw new Error(`cannot find the repository root above ${start}`);
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const PROBE_BINARY = join(REPO_ROOT, 'fixtures', 'probe', 'probe');
export const FIXTURE_BUILD_DIR = join(REPO_ROOT, 'fixtures', 'build');
export const ACTOOL = join(REPO_ROOT, '.tools', 'bin', 'actool');
/** The ref executor's CLI, compiled by `npm run build` (npm test builds first). */
export const REF_CLI = join(REPO_ROOT, 'dist', 'harness', 'ref', 'main.js');
/** The appc spec's ACE validator, built by `npm run setup` (the peer suite's program). */
export const ACE_VALIDATOR = join(REPO_ROOT, '.tools', 'bin', 'ace-validator');
/** The discovery server process the image-discovery suite starts inside its network namespace. */
export const DISCOVERY_SERVER = join(REPO_ROOT, 'dist', 'harness', 'discovery', 'server-main.js');
