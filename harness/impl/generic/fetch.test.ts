// The generic adapter's fetch by name (/imageFetch) against a fake implementation (a shell script):
// the trust commands before the fetch, placeholders, the network wrapper, and each ending.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { defaultConfig } from '../../run/config.js';
import { HostTarget } from '../../target/host-target.js';
import type { FetchRequest } from '../implementation.js';
import { GenericImplementation } from './adapter.js';
import { loadGenericConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'generic-fetch-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = join(dir, 'log');
const ID = `sha512-${'ab'.repeat(64)}`;

// fake trust ...: logs; fake fetch MODE NAME...: fetched, refused (exit 5), crash (exit 3) or hang.
const fake = join(dir, 'fake');
writeFileSync(
  fake,
  `#!/bin/sh
echo "$NETNS_MARK $*" >> ${log}
case $1 in
  trust) exit 0 ;;
  fetch) case $2 in
    ok) echo "fetched ${ID}"; exit 0 ;;
    refuse) echo "signature verification failed" >&2; exit 5 ;;
    crash) echo "panic" >&2; exit 3 ;;
    hang) exec sleep 30 ;;
  esac ;;
esac
exit 9
`,
);
chmodSync(fake, 0o755);

function impl(mode: string): GenericImplementation {
  const p = join(dir, `${mode}.yaml`);
  writeFileSync(
    p,
    `name: fake
binary: ${fake}
features: [image-fetch]
run: { images: ["{binary}", run] }
apps: { exitCode: { run: exitCode }, stdout: { run: stdout }, stderr: { run: stderr } }
imageFetch:
  trust:
    key: ["{binary}", trust, "{prefix}", "{keyFile}"]
    discover: ["{binary}", trust, --discover, "{prefix}", "{caFile}"]
  argv: ["{binary}", fetch, ${mode}, "{name},{labels}", [--label, "{label}"], "{caFile}"]
  imageId: { run: stdout, match: "(sha512-[0-9a-f]+)" }
  refusedExitCodes: [5]
`,
  );
  return new GenericImplementation(new HostTarget(), { ...defaultConfig(), impl: 'generic', implConfig: p, podTimeoutMs: 2_000 }, loadGenericConfig(p));
}

const keyFile = join(dir, 'key.asc');
writeFileSync(keyFile, 'key');
const request = (): FetchRequest => ({
  name: 'a.appc.test/app',
  labels: { version: '1.0.0', os: 'linux' },
  trust: [{ prefix: 'a.appc.test', keyFile }, { prefix: 'a.appc.test/app', discover: true }],
  network: { netns: 'fake', wrap: (argv) => ['env', 'NETNS_MARK=in-netns', ...argv], caFile: '/run/ca.pem' },
});

describe('generic adapter: fetch by name', () => {
  test('trusts each entry, then fetches with the placeholders filled, all through the network wrapper', async () => {
    rmSync(log, { force: true });
    const out = await impl('ok').fetchImage(request());
    expect(out).toMatchObject({ status: 'fetched', imageId: ID });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^in-netns trust a\.appc\.test \/tmp\/appc-generic-fetch-\w+\/key-0\.asc$/);
    expect(lines[1]).toBe('in-netns trust --discover a.appc.test/app /run/ca.pem');
    expect(lines[2]).toBe('in-netns fetch ok a.appc.test/app,os=linux,version=1.0.0 --label os=linux --label version=1.0.0 /run/ca.pem');
  });

  test('a refused exit code is a refusal, another a crash, the harness timeout a hang', async () => {
    expect(await impl('refuse').fetchImage(request())).toMatchObject({ status: 'refused', refusal: expect.stringContaining('signature verification failed') });
    expect(await impl('crash').fetchImage(request())).toMatchObject({ status: 'crashed' });
    expect(await impl('hang').fetchImage({ ...request(), timeoutMs: 500 })).toMatchObject({ status: 'hung' });
  });
});
