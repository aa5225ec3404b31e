// Boot-to-ready of the qemu target's guests, measured: `npm run bench:boot -- [--profile lean|systemd] [--release bookworm|bullseye] [--runs N]`.
// Builds the guest first if the cache lacks it (not counted), then boots it N times and prints
// each time from QEMU's start to the agent's first answer, and their median. A benchmark, not a test.
import { parseArgs } from 'node:util';
import { defaultConfig } from '../../run/config.js';
import { DEFAULT_RELEASE, ensureGuest, GUEST_RELEASES, type GuestProfileName, type GuestRelease } from '../guest/guest-image.js';
import { startTarget } from '../lifecycle.js';

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'lean' }, release: { type: 'string', default: DEFAULT_RELEASE }, runs: { type: 'string', default: '3' } } });
const profile = values.profile as GuestProfileName;
if (profile !== 'lean' && profile !== 'systemd') {
  console.error('bench-boot: --profile is lean or systemd');
  process.exit(2);
}
const release = values.release as GuestRelease;
if (!GUEST_RELEASES.includes(release)) {
  console.error(`bench-boot: --release is ${GUEST_RELEASES.join(' or ')}`);
  process.exit(2);
}
await ensureGuest({ profile, release });
const times: number[] = [];
let line = '';
for (let i = 0; i < Number(values.runs); i++) {
  const started = await startTarget({ ...defaultConfig(), target: 'qemu', vmProfile: profile, guestRelease: release }, { guestProfile: profile, log: () => undefined });
  try {
    const d = started.description;
    times.push(d.bootMs ?? 0);
    line = `${d.distribution}, kernel ${d.kernel}, cgroup v${d.cgroup}, init ${d.init}, ${d.accel?.toUpperCase()}`;
    console.log(`boot ${i + 1}: ${((d.bootMs ?? 0) / 1000).toFixed(1)} s`);
  } finally {
    await started.stop();
  }
}
times.sort((a, b) => a - b);
console.log(`${profile} guest (${line}): median boot-to-ready ${(times[Math.floor(times.length / 2)]! / 1000).toFixed(1)} s over ${times.length} boots, on ${new Date().toISOString().slice(0, 10)}`);
