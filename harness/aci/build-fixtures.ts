// `node dist/harness/aci/build-fixtures.js`: builds the fixture catalog and checks every image
// with actool. Run by npm run setup.
import { relative } from 'node:path';
import { existsSync } from 'node:fs';
import { aceValidatorMain, aceValidatorSidekick } from '../../fixtures/ace-validator.js';
import { catalog } from '../../fixtures/images.js';
import { ACE_VALIDATOR, FIXTURE_BUILD_DIR, REPO_ROOT } from '../run/paths.js';
import { actoolAvailable, actoolValidate } from './actool.js';
import { buildAci } from './builder.js';

async function main(): Promise<number> {
  const check = actoolAvailable();
  let bad = 0;
  // The peer suite's images too, so actool checks our manifests for the spec's validator.
  const peer = existsSync(ACE_VALIDATOR) ? [await aceValidatorMain(), await aceValidatorSidekick()] : [];
  for (const spec of [...(await catalog()), ...peer]) {
    const img = await buildAci(spec, FIXTURE_BUILD_DIR);
    const problem = check ? await actoolValidate(img.path) : undefined;
    if (problem) bad++;
    console.log(`${problem ? 'INVALID' : 'ok'}  ${img.name}  ${relative(REPO_ROOT, img.path)}  ${img.id.slice(0, 19)}…${problem ? `  ${problem}` : ''}`);
  }
  if (!check) console.log('(actool not built: images were not cross-checked; run npm run setup)');
  return bad === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`build-fixtures: ${err.message}`);
    process.exit(1);
  },
);
