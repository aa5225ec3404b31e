// The generic adapter against a fake implementation (a shell script): what it reads from where,
// refusals, and that every misconfiguration or misbehaviour is a HarnessError with clean-up done.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { BuiltImage, PodManifest } from '../../aci/index.js';
import { defaultConfig } from '../../run/config.js';
import { HarnessError } from '../../run/errors.js';
import { HostTarget } from '../../target/host-target.js';
import { GenericImplementation } from './adapter.js';
import { loadGenericConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'generic-adapter-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = join(dir, 'log');

// fake run WORK MODE APP...: writes a result document for the named apps (exit codes 0, 7, 8, …).
const FAKE = `#!/bin/sh
echo "$*" >> ${log}
cmd=$1; shift
case $cmd in
  version) echo '{"version": "9.9"}'; exit 0 ;;
  cleanup|stop) exit 0 ;;
esac
work=$1; mode=$2; shift 2
case $mode in
  refuse) echo "no such volume" >&2; exit 9 ;;
  hang) exec sleep 30 ;;
  noresult) exit 3 ;;
esac
printf '{"status": "%s", "apps": [' "$mode" > $work/result.json
code=0; sep=
for app in "$@"; do
  printf '%s{"name": "%s", "code": %d, "out": "out of %s\\\\n", "err": "err of %s\\\\n"}' "$sep" "$app" $code "$app" "$app" >> $work/result.json
  sep=,; if [ $code = 0 ]; then code=7; else code=$((code+1)); fi
done
echo ']}' >> $work/result.json
echo "run stdout"; echo "run stderr" >&2
exit 0
`;
const fake = join(dir, 'fake');
writeFileSync(fake, FAKE);
chmodSync(fake, 0o755);

function config(mode: string, extra = ''): string {
  const p = join(dir, `${mode}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    p,
    `name: fake
binary: ${fake}
version: { argv: ["{binary}", version], pointer: /version }
features: [multi-app, pod-manifest]
run:
  images: ["{binary}", run, "{work}", ${mode}, "{imageName}"]
  podManifest: ["{binary}", run, "{work}", ${mode}, a, b]
result: { file: "{work}/result.json" }
apps:
  exitCode: { pointer: "/apps/[name={app}]/code" }
  stdout: { pointer: "/apps/[name={app}]/out" }
  stderr: { pointer: "/apps/[name={app}]/err" }
refused: { exitCodes: [9] }
stop: ["{binary}", stop, "{uuid}"]
cleanup: ["{binary}", cleanup, "{uuid}"]
${extra}`,
  );
  return p;
}

function impl(path: string, podTimeoutMs = 20_000): GenericImplementation {
  return new GenericImplementation(new HostTarget(), { ...defaultConfig(), impl: 'generic', implConfig: path, podTimeoutMs }, loadGenericConfig(path));
}

const imageFile = join(dir, 'x.aci');
writeFileSync(imageFile, 'not really an image');
const image = (name: string): BuiltImage =>
  ({ path: imageFile, id: 'sha512-x', name, compression: 'none', manifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name, app: { exec: ['/probe'], user: '0', group: '0' } } }) as BuiltImage;
const manifest = { acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'a' }, { name: 'b' }] } as unknown as PodManifest;

function leftovers(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith('appc-generic-run-'));
}
function logged(): string[] {
  const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  rmSync(log, { force: true });
  return lines;
}

describe('generic adapter', () => {
  test('reads version, per-app exit codes and output from the result document, and cleans up', async () => {
    const before = leftovers();
    const i = impl(config('exited'));
    expect(await i.info()).toMatchObject({ name: 'fake', version: '9.9', details: { adapter: 'generic' } });
    logged();
    const out = await i.runPod({ images: [image('example.com/x')], manifest });
    expect(out.status).toBe('exited');
    expect(out.apps.map((a) => [a.name, a.exitCode, a.stdout, a.stderr])).toEqual([
      ['a', 0, 'out of a\n', 'err of a\n'],
      ['b', 7, 'out of b\n', 'err of b\n'],
    ]);
    expect(out.apps[0]!.reportMissing).toBeDefined();
    expect(out.messages, 'no /messages in the config: no channel').toBeUndefined();
    const calls = logged();
    expect(calls[0]).toMatch(/^run \/tmp\/appc-generic-run-\S+ exited a b$/);
    expect(calls[1]).toBe(`cleanup ${out.uuid}`);
    expect(leftovers()).toEqual(before);
  });

  test('/messages gives what the implementation told its user, e.g. its stderr', async () => {
    const out = await impl(config('exited', 'messages: { run: stderr }')).runPod({ images: [image('example.com/x')], manifest });
    expect(out.messages).toBe('run stderr\n');
    logged();
  });

  test('image-only runs name apps from the images; {run: …} sources read the run itself', async () => {
    const p = config('exited').replace(/\.yaml$/, '-run.yaml');
    writeFileSync(p, readFileSync(config('exited'), 'utf8').replace(/exitCode: .*\n  stdout: .*\n  stderr: .*\n/, 'exitCode: { run: exitCode }\n  stdout: { run: stdout }\n  stderr: { run: stderr }\n'));
    const out = await impl(p).runPod({ images: [image('example.com/Only_App')] });
    expect(out.apps).toMatchObject([{ name: 'only-app', exitCode: 0, stdout: 'run stdout\n', stderr: 'run stderr\n' }]);
    logged();
  });

  test('match picks an exit code out of a status listing and the lines of one app out of a shared console (CRLF too)', async () => {
    const p = config('exited');
    const listing = join(dir, 'listing');
    writeFileSync(listing, 'state=exited\napp-a=0\napp-b=7\n');
    const console_ = join(dir, 'console');
    writeFileSync(console_, '[ 1.5] a[4]: hello from a\r\n[ 1.6] b[5]: hello from b\r\n[ 1.7] a[4]: bye\r\n');
    writeFileSync(
      p,
      readFileSync(p, 'utf8')
        .replace(/exitCode: .*\n/, `exitCode: { argv: [cat, ${listing}], match: "^app-{app}=([0-9]+)$" }\n`)
        .replace(/stdout: .*\n/, `stdout: { file: ${console_}, match: "^\\\\[[ 0-9.]+\\\\] {app}\\\\[[0-9]+\\\\]: (.*)$" }\n`),
    );
    const out = await impl(p).runPod({ images: [image('example.com/x')], manifest });
    expect(out.apps.map((a) => [a.name, a.exitCode, a.stdout])).toEqual([
      ['a', 0, 'hello from a\nbye\n'],
      ['b', 7, 'hello from b\n'],
    ]);
    logged();
  });

  test('a failed run in which no app has an exit status is a refusal; a successful one is a harness error', async () => {
    const empty = join(dir, 'empty-listing');
    writeFileSync(empty, 'state=exited\n');
    const edit = (mode: string) => {
      const p = config(mode);
      writeFileSync(p, readFileSync(p, 'utf8').replace(/exitCode: .*\n/, `exitCode: { argv: [cat, ${empty}], match: "^app-{app}=([0-9]+)$" }\n`));
      return p;
    };
    const out = await impl(edit('noresult')).runPod({ images: [image('example.com/x')], manifest });
    expect(out.status).toBe('refused');
    expect(out.refusal).toMatch(/exited 3 and no app has an exit status/);
    await expect(impl(edit('exited')).runPod({ images: [image('example.com/x')], manifest })).rejects.toThrow(/^adapter config \/apps\/exitCode: app a: no exit status found/);
    logged();
  });

  test('recognizes a refusal by exit code, with stderr as the reason', async () => {
    const out = await impl(config('refuse')).runPod({ images: [image('example.com/x')], manifest });
    expect(out).toMatchObject({ status: 'refused', refusal: 'no such volume', apps: [] });
    logged();
  });

  test('recognizes a refusal by a result field', async () => {
    const p = config('declined', 'result: { file: "{work}/result.json" }\n').replace(/\n$/, '');
    writeFileSync(p, readFileSync(p, 'utf8').replace('refused: { exitCodes: [9] }', 'refused: { pointer: /status, equals: declined }').replace(/result: \{ file: "\{work\}\/result.json" \}\n$/, ''));
    const out = await impl(p).runPod({ images: [image('example.com/x')], manifest });
    expect(out.status).toBe('refused');
    logged();
  });

  test('a wrong result path is a harness error that names the field and the app, not a failing app', async () => {
    const p = config('exited');
    writeFileSync(p, readFileSync(p, 'utf8').replace('/code', '/exit_code'));
    const err = await impl(p).runPod({ images: [image('example.com/x')], manifest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(/^adapter config \/apps\/exitCode: app a: \/apps\/\[name=a\]\/exit_code: no such field in the result/);
    expect(logged().at(-1)).toMatch(/^cleanup /);
  });

  test('a run without its result document is a harness error; stop and cleanup still run', async () => {
    const before = leftovers();
    const err = await impl(config('noresult')).runPod({ images: [image('example.com/x')], manifest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(/^result: \S+\/result\.json missing \(run `.*` exited 3/);
    expect(logged().slice(1).map((l) => l.split(' ')[0])).toEqual(['stop', 'cleanup']);
    expect(leftovers()).toEqual(before);
  });

  test('a pod that outlives the timeout is killed, stopped and cleaned up: a harness timeout', async () => {
    const before = leftovers();
    const started = Date.now();
    const err = await impl(config('hang'), 1_000).runPod({ images: [image('example.com/x')], manifest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(/^pod timed out after 1s \(harness timeout\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(logged().slice(1).map((l) => l.split(' ')[0])).toEqual(['stop', 'cleanup']);
    expect(leftovers()).toEqual(before);
  });

  test('a command that cannot start is a harness error naming the step', async () => {
    const p = config('exited');
    writeFileSync(p, readFileSync(p, 'utf8').replace(`binary: ${fake}`, `binary: ${dir}/missing`));
    const err = await impl(p).runPod({ images: [image('example.com/x')], manifest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(/^run: cannot start `.*\/missing run /);
  });

  test('multi-app pods cannot take their output from the run without a match', async () => {
    const p = config('exited');
    writeFileSync(p, readFileSync(p, 'utf8').replace(/stdout: .*\n/, 'stdout: { run: stdout }\n'));
    await expect(impl(p).runPod({ images: [image('example.com/x')], manifest })).rejects.toThrow(/\{run: stdout\} is ambiguous for a pod of 2 apps/);
    logged();
  });
});
