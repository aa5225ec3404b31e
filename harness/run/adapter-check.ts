// `npm run adapter-check -- --impl=NAME [--impl-config FILE] [--impl-path PATH]`: a short, fixed set
// of probes that check the adapter's wiring, not conformance: an image imports and a pod runs, the
// probe's report comes back, exit codes come back per app, each app's stdout and stderr are its own,
// a pod that outlives its timeout is stopped, and nothing is left behind. Prints one line per probe,
// then "adapter OK" (exit 0) or "adapter broken: …" (exit 1); bad input is one line and exit 2.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { buildAci, type BuiltImage } from '../aci/index.js';
import { createImplementation, preflight, type AppOutcome, type Implementation, type PodOutcome, type PodRequest } from '../impl/index.js';
import { podManifest } from '../../fixtures/pods.js';
import { probeImage } from '../../fixtures/images.js';
import { guestProfileOf } from '../impl/index.js';
import { abortStarting, startTarget, type StartedTarget, type Target } from '../target/index.js';
import { parseCli, type RunConfig } from './config.js';
import { UsageError } from './errors.js';
import { FIXTURE_BUILD_DIR, PROBE_BINARY } from './paths.js';

export const USAGE = `usage: npm run adapter-check -- --impl NAME [--impl-config FILE] [--impl-path PATH] [--pod-timeout SECS]

Checks that the adapter for an implementation is wired right (not whether the implementation
conforms): one line per probe, OK or BROKEN with the evidence, then "adapter OK" or "adapter broken".
Exit code: 0 adapter OK, 1 adapter broken, 2 bad input.`;

/** Set in our environment (so the implementation's processes inherit it) and in the probe apps' environment: leaked processes carry it. */
const MARKER = 'APPC_ADAPTER_CHECK';
/** The timeout probe's pod gets this long before the harness kills it. */
const TIMEOUT_PROBE_MS = 3_000;

/** Ctrl-C: the pod that runs ends (the implementation got the signal too) and cleans up, then no further probe starts. */
let interrupted = false;
class Interrupted extends Error {}
function notInterrupted(): void {
  if (interrupted) throw new Interrupted('interrupted');
}

interface ProbeLine {
  name: string;
  ok: boolean;
  evidence: string;
}

const OUT = (app: string) => `adapter-check-stdout-of-${app}`;
const ERR = (app: string) => `adapter-check-stderr-of-${app}`;

async function checkImage(name: string, args: string[]): Promise<BuiltImage> {
  const spec = await probeImage({ name, app: { exec: ['/probe', ...args], environment: [{ name: MARKER, value: 'probe' }] } });
  return buildAci(spec, FIXTURE_BUILD_DIR);
}

/** What could leak from a pod run on the target: the adapters' temp dirs (appc-*; other temp files are
 *  too noisy on a busy machine), mounts, cgroups, network namespaces, processes that carry our marker. */
export async function snapshot(target: Target): Promise<Set<string>> {
  const script = `
    self=$$
    ls -A "\${TMPDIR:-/tmp}" | grep '^appc-' | sed 's/^/temp: /'
    cut -d' ' -f5- /proc/self/mountinfo | sed 's/^/mount: /'
    find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sed 's/^/cgroup: /'
    ip netns list 2>/dev/null | sed 's/^/netns: /'
    for d in /proc/[0-9]*; do
      grep -qa '${MARKER}=' "$d/environ" 2>/dev/null || continue
      set -- $(cut -d' ' -f4,22 "$d/stat" 2>/dev/null) ; p=\${d#/proc/}
      [ "$p" = "$self" ] || [ "$1" = "$self" ] || [ "$p" = "${process.pid}" ] && continue
      echo "process: $p (started $2) $(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null | cut -c1-160)"
    done`;
  const res = await target.exec(['sh', '-c', script], { timeoutMs: 60_000 });
  return new Set(res.stdout.split('\n').filter((l) => l.trim() !== ''));
}

function appLine(a: AppOutcome): string {
  return `${a.name} exit ${a.exitCode ?? a.signal}`;
}

function describeOutcome(o: PodOutcome): string {
  return o.status === 'refused' ? `refused: ${o.refusal}` : `apps: ${o.apps.map(appLine).join(', ') || 'none'}`;
}

/** Runs a pod; a thrown error or a refusal becomes the probe's evidence instead of an outcome. */
async function tryRun(impl: Implementation, request: PodRequest): Promise<PodOutcome | string> {
  try {
    const o = await impl.runPod(request);
    return o.status === 'refused' ? `the implementation refused a valid pod: ${o.refusal}` : o;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Whole lines only: the probe's JSON report (its argv) names every marker too. */
function hasLine(text: string, line: string): boolean {
  return text.split('\n').some((l) => l.trim() === line);
}

function checkOutputs(apps: AppOutcome[], all: string[]): string[] {
  const problems: string[] = [];
  for (const a of apps) {
    if (!hasLine(a.stdout, OUT(a.name))) problems.push(`${a.name}: stdout lacks its line ${JSON.stringify(OUT(a.name))} (got ${JSON.stringify(a.stdout.slice(0, 80))})`);
    if (!hasLine(a.stderr, ERR(a.name))) problems.push(`${a.name}: stderr lacks its line ${JSON.stringify(ERR(a.name))} (got ${JSON.stringify(a.stderr.slice(0, 80))})`);
    for (const other of all) {
      if (hasLine(a.stdout, ERR(other))) problems.push(`${a.name}: stdout holds ${other}'s stderr line`);
      if (hasLine(a.stderr, OUT(other))) problems.push(`${a.name}: stderr holds ${other}'s stdout line`);
      if (other !== a.name && hasLine(a.stdout, OUT(other))) problems.push(`${a.name}: stdout holds ${other}'s stdout line`);
      if (other !== a.name && hasLine(a.stderr, ERR(other))) problems.push(`${a.name}: stderr holds ${other}'s stderr line`);
    }
  }
  return problems;
}

/** Runs the probes, printing one line each; resolves with the exit code (0 OK, 1 broken). */
export async function adapterCheck(target: Target, config: RunConfig, print: (line: string) => void = console.log): Promise<number> {
  await preflight(target, config);
  if (!existsSync(PROBE_BINARY)) throw new UsageError('the probe is not built: run npm run setup');
  process.env[MARKER] ??= randomBytes(6).toString('hex');
  const lines: ProbeLine[] = [];
  const report = (name: string, ok: boolean, evidence: string) => {
    notInterrupted(); // a pod cut short by Ctrl-C is no evidence about the adapter
    lines.push({ name, ok, evidence });
    print(`${ok ? 'OK    ' : 'BROKEN'}  ${name}: ${evidence}`);
  };

  const before = await snapshot(target);
  const impl = createImplementation(target, config);
  try {
    try {
      const info = await impl.info();
      report('info', true, `${info.name} ${info.version}; declares ${[...impl.features].join(', ') || 'no features'}`);
    } catch (err) {
      report('info', false, (err as Error).message.split('\n')[0]!);
    }
    const withManifest = impl.features.has('pod-manifest');
    const multi = impl.features.has('multi-app');
    const [imgA, imgB, imgSlow] = await Promise.all([
      checkImage('adapter-check-a', [`stdout=${OUT('adapter-check-a')}`, `stderr=${ERR('adapter-check-a')}`, 'exit=0']),
      checkImage('adapter-check-b', [`stdout=${OUT('adapter-check-b')}`, `stderr=${ERR('adapter-check-b')}`, 'exit=7']),
      checkImage('adapter-check-slow', ['sleep=600000']),
    ]);
    // With the pod-manifest feature the manifest path is checked too; image-only pods name their apps after the image.
    const request = (imgs: BuiltImage[]): PodRequest =>
      withManifest ? { images: imgs, manifest: podManifest(imgs.map((image) => ({ name: image.manifest.name.split('/').pop()!, image }))) } : { images: imgs };

    notInterrupted();
    // 1. an image imports and a one-app pod runs
    const one = await tryRun(impl, request([imgA]));
    if (typeof one === 'string') {
      report('pod runs', false, one);
    } else {
      const a = one.apps.find((x) => x.name === 'adapter-check-a');
      report('pod runs', a !== undefined && one.apps.length === 1, `one-app pod (${withManifest ? 'pod manifest' : 'image only'}) exited; ${describeOutcome(one)}`);
    }
    // 2. the probe's evidence comes back
    if (typeof one !== 'string') {
      const a = one.apps.find((x) => x.name === 'adapter-check-a');
      report('probe report', a?.report !== undefined, a?.report ? `parsed from app stdout (pid ${a.report.pid}, cwd ${a.report.cwd}, uid ${a.report.uid})` : `none: ${a?.reportMissing ?? 'no app'}`);
    } else report('probe report', false, 'no pod ran');

    notInterrupted();
    // 3. exit codes per app: two apps 0 and 7 when multi-app is declared, else one app exiting 7
    const expected: Record<string, number> = multi ? { 'adapter-check-a': 0, 'adapter-check-b': 7 } : { 'adapter-check-b': 7 };
    const codes = await tryRun(impl, request(multi ? [imgA, imgB] : [imgB]));
    if (typeof codes === 'string') {
      report('exit codes', false, codes);
    } else {
      const got = Object.fromEntries(codes.apps.map((x) => [x.name, x.exitCode]));
      const ok = Object.entries(expected).every(([n, c]) => got[n] === c) && codes.apps.length === Object.keys(expected).length;
      report('exit codes', ok, `expected ${Object.entries(expected).map(([n, c]) => `${n}=${c}`).join(', ')}; got ${codes.apps.map((x) => `${x.name}=${x.exitCode ?? x.signal}`).join(', ') || 'no apps'}`);
    }

    // 4. stdout and stderr: each app's own, not swapped, merged or mixed with another app's
    const ran = [one, codes].flatMap((o) => (typeof o === 'string' ? [] : [o.apps]));
    if (ran.length === 0) {
      report('stdout/stderr', false, 'no pod ran');
    } else {
      const problems = ran.flatMap((apps) => checkOutputs(apps, apps.map((x) => x.name)));
      report('stdout/stderr', problems.length === 0, problems.length === 0 ? `each app's probe lines on its own stdout and stderr (${ran.flat().length} apps)` : problems.slice(0, 3).join('; '));
    }

    notInterrupted();
    // 5. a pod that outlives its timeout: the adapter must stop it and say so as a harness error
    const t0 = performance.now();
    try {
      const o = await impl.runPod({ ...request([imgSlow]), timeoutMs: TIMEOUT_PROBE_MS });
      report('timeout', false, `a pod sleeping 600 s came back after ${((performance.now() - t0) / 1000).toFixed(1)} s as ${o.status} (${describeOutcome(o)}), not as a harness timeout`);
    } catch (err) {
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      const isTimeout = (err as Error).name === 'HarnessError' && /tim(ed|e) ?out/i.test((err as Error).message);
      report('timeout', isTimeout, `${isTimeout ? 'stopped' : 'failed'} after ${secs} s with ${(err as Error).name}: ${(err as Error).message.split('\n')[0]!.slice(0, 160)}`);
    }
  } finally {
    await impl.dispose();
  }

  // 6. nothing left behind: what appeared since the start and is still there a moment later
  // Look again a few times: whatever else runs on the target (another run, a slow clean-up) comes and goes.
  let left = [...(await snapshot(target))].filter((l) => !before.has(l));
  for (let i = 0; i < 3 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await snapshot(target);
    left = left.filter((l) => after.has(l));
  }
  report('cleanup', left.length === 0, left.length === 0 ? `nothing new left behind in temp dirs, mounts, cgroups, network namespaces or processes (${before.size} entries before)` : `left behind: ${left.slice(0, 5).join('; ')}${left.length > 5 ? ` (+${left.length - 5} more)` : ''}`);

  const broken = lines.filter((l) => !l.ok).map((l) => l.name);
  print(broken.length === 0 ? 'adapter OK' : `adapter broken: ${broken.join(', ')} (a wiring problem of the adapter, not a conformance result)`);
  return broken.length === 0 ? 0 : 1;
}

async function main(): Promise<void> {
  let config: RunConfig;
  try {
    const req = parseCli(process.argv.slice(2));
    if (req.mode === 'help') {
      console.log(USAGE);
      return;
    }
    if (req.mode !== 'run' || req.selection.fileFilters.length > 0 || req.selection.clauseGlobs.length > 0 || req.selection.level || req.selection.testNamePattern) {
      throw new UsageError('adapter-check takes --impl, --impl-config, --impl-path, --target and --pod-timeout only');
    }
    config = req.config;
  } catch (err) {
    console.error(`adapter-check: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  let started: StartedTarget | undefined;
  try {
    process.on('SIGINT', () => {
      if (interrupted) process.exit(130); // a second Ctrl-C: stop waiting for clean-up
      interrupted = true;
      void abortStarting();
    });
    started = await startTarget(config, { guestProfile: guestProfileOf(config) });
    process.exitCode = await adapterCheck(started.target, { ...config, targetHandle: started.handle });
  } catch (err) {
    if (err instanceof Interrupted) {
      console.error('adapter-check: interrupted (the pod that was running has been cleaned up)');
      process.exitCode = 130;
      return;
    }
    // Only bad input gets here: every probe catches what the adapter throws.
    console.error(`adapter-check: ${(err as Error).message.split('\n')[0]}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  } finally {
    await started?.stop();
  }
}

if (process.argv[1]?.endsWith('adapter-check.js')) await main();
