// `node dist/harness/target/guest/build.js [--profile lean|systemd|all]`: builds (or finds in the
// cache) the guests of --target=qemu; run by `npm run setup -- --vm`.
import { parseArgs } from 'node:util';
import { HarnessError, UsageError } from '../../run/errors.js';
import { ensureGuest, GUEST_PROFILES, type GuestProfileName } from './guest-image.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'lean' } } });
  const names = Object.keys(GUEST_PROFILES) as GuestProfileName[];
  const wanted = values.profile === 'all' ? names : [values.profile as GuestProfileName];
  if (!wanted.every((p) => names.includes(p))) {
    console.error(`guest: unknown --profile ${values.profile} (${names.join(', ')} or all)`);
    return 2;
  }
  try {
    for (const profile of wanted) console.log(`guest: ${profile} ready in ${(await ensureGuest({ profile })).dir}`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof HarnessError)) throw err;
    console.error(`guest: ${err.message}`);
    return err instanceof UsageError ? 2 : 3;
  }
}

process.exitCode = await main();
