// `node dist/harness/target/guest/build.js [--profile lean|systemd|all] [--release bookworm|bullseye|all]`:
// builds (or finds in the cache) the guests of --target=qemu; run by `npm run setup -- --vm`.
import { parseArgs } from 'node:util';
import { HarnessError, UsageError } from '../../run/errors.js';
import { DEFAULT_RELEASE, ensureGuest, GUEST_PROFILES, GUEST_RELEASES, type GuestProfileName, type GuestRelease } from './guest-image.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'lean' }, release: { type: 'string', default: DEFAULT_RELEASE } } });
  const names = Object.keys(GUEST_PROFILES) as GuestProfileName[];
  const wanted = values.profile === 'all' ? names : [values.profile as GuestProfileName];
  if (!wanted.every((p) => names.includes(p))) {
    console.error(`guest: unknown --profile ${values.profile} (${names.join(', ')} or all)`);
    return 2;
  }
  const releases = values.release === 'all' ? [...GUEST_RELEASES] : [values.release as GuestRelease];
  if (!releases.every((r) => (GUEST_RELEASES as readonly string[]).includes(r))) {
    console.error(`guest: unknown --release ${values.release} (${GUEST_RELEASES.join(', ')} or all)`);
    return 2;
  }
  try {
    for (const release of releases) {
      for (const profile of wanted) console.log(`guest: ${profile} (${release}) ready in ${(await ensureGuest({ profile, release })).dir}`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof HarnessError)) throw err;
    console.error(`guest: ${err.message}`);
    return err instanceof UsageError ? 2 : 3;
  }
}

process.exitCode = await main();
