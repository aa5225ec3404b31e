#!/usr/bin/env node
// ref: the suite's embedded App Container Executor, built on crun. See harness/ref/README.md.
//   ref run --data-dir DIR --result FILE --image A.aci [--image B.aci …] [--pod-manifest FILE] [--uuid UUID] [--mutant NAME]
//   ref import --image A.aci [--mutant NAME]
//   ref fetch --name NAME [--label K=V …] --trust-dir DIR [--ca-file PEM] [--mutant NAME]
//   ref trust --trust-dir DIR (--root | --prefix PREFIX) (--key FILE … | --discover) [--ca-file PEM] [--mutant NAME]
//   ref gc --data-dir DIR
//   ref version
//   ref mutants
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KilledError, messageOf, RefusalError } from './errors.js';
import { loadImage } from './image.js';
import { MUTANTS, setMutant } from './mutants.js';
import type { RunResult } from './pod.js';

export const REF_VERSION = '0.1.0';

class UsageError extends Error {}

/** Fetching and trust (and openpgp with them) load only for the commands that use them: every pod
 *  run starts ref anew, and openpgp alone is a good part of its start-up. */
const fetchModule = () => import('./fetch.js');
/** Likewise the pod code (crun, namespaces, the metadata service's HTTP server) for run and gc only:
 *  an image import starts ref too, 80 times in a full run of the suite. */
const podModule = () => import('./pod.js');
const crunModule = () => import('./crun.js');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const EXIT = { ok: 0, refused: 1, usage: 2, error: 3 } as const;

function usage(message: string): never {
  throw new UsageError(message);
}

async function cmdRun(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        result: { type: 'string' },
        image: { type: 'string', multiple: true },
        'pod-manifest': { type: 'string' },
        uuid: { type: 'string' },
        mutant: { type: 'string' },
      },
    }));
  } catch (err) {
    usage(messageOf(err));
  }
  const dataDir = values['data-dir'] ?? usage('run: --data-dir is required');
  const resultFile = values.result ?? usage('run: --result is required');
  const images = values.image ?? [];
  if (images.length === 0) usage('run: at least one --image is required');
  if (values.uuid !== undefined && !UUID_RE.test(values.uuid)) usage(`run: --uuid must be a lower-case RFC 4122 UUID`);
  if (values.mutant !== undefined) {
    if (!MUTANTS.some((m) => m.name === values.mutant)) usage(`run: unknown mutant ${values.mutant} (see 'ref mutants')`);
    setMutant(values.mutant);
  }

  // SIGTERM/SIGINT stop the pod in order (kill, clean up, write the result) instead of killing ref.
  const controller = new AbortController();
  let signalled: KilledError | undefined;
  const onSignal = (sig: 'SIGTERM' | 'SIGINT') => () => {
    if (signalled) return;
    signalled = new KilledError(sig);
    controller.abort(signalled);
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);

  let result: RunResult;
  const { runPod } = await podModule();
  try {
    result = await runPod({
      dataDir: resolve(dataDir),
      images: images.map((i) => resolve(i)),
      ...(values['pod-manifest'] !== undefined ? { podManifestFile: resolve(values['pod-manifest']) } : {}),
      ...(values.uuid !== undefined ? { uuid: values.uuid } : {}),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  // A signal that arrived after the apps had all exited still means the run was interrupted.
  if (signalled && result.status === 'exited') result = { ...result, status: 'killed', error: signalled.message };

  // The warnings are in the result too, for the adapter: cleanup trouble there asks for a gc.
  await mkdir(dirname(resolve(resultFile)), { recursive: true });
  await writeFile(resultFile, JSON.stringify(result, null, 2) + '\n');

  switch (result.status) {
    case 'exited':
      for (const w of result.warnings) process.stderr.write(`ref: warning: ${w}\n`);
      return EXIT.ok;
    case 'refused':
      process.stderr.write(`ref: refused: ${oneLine(result.error ?? 'refused')}\n`);
      return EXIT.refused;
    case 'killed':
      process.stderr.write(`ref: ${oneLine(result.error ?? 'killed')}\n`);
      return signalled?.signal === 'SIGINT' ? 130 : 143;
    case 'error':
      process.stderr.write(`ref: error: ${oneLine(result.error ?? 'error')}\n`);
      return EXIT.error;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Checks one image as a run would load it (layout, manifest, os/arch) and prints its ID as JSON.
 *  ref keeps no image store: an import is the load a run would do, without the pod. */
/** Runs an image command: its answer is one JSON line on stdout, a refusal one line on stderr and
 *  EXIT.refused; anything else is a crash. `scratch` names a temporary dir the work gets, removed after. */
async function answerOrRefuse(work: (scratch: string) => Promise<unknown>, scratch?: string): Promise<number> {
  let dir = '';
  // A signal ends the command at once, its scratch dir removed first (an interrupted run leaves
  // nothing). The handlers come first and the dir is made synchronously: a signal that came as an
  // asynchronous mkdtemp returned found no handler, and the dir stayed.
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));
  if (scratch) dir = mkdtempSync(join(tmpdir(), `appc-ref-${scratch}-`));
  try {
    process.stdout.write(JSON.stringify(await work(dir)) + '\n');
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof RefusalError)) throw err;
    process.stderr.write(`ref: refused: ${oneLine(err.message)}\n`);
    return EXIT.refused;
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

async function cmdImport(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { image: { type: 'string' }, mutant: { type: 'string' } } }));
  } catch (err) {
    usage(messageOf(err));
  }
  const file = resolve(values.image ?? usage('import: --image is required'));
  if (values.mutant !== undefined) {
    if (!MUTANTS.some((m) => m.name === values.mutant)) usage(`import: unknown mutant ${values.mutant} (see 'ref mutants')`);
    setMutant(values.mutant);
  }
  return answerOrRefuse(async (scratch) => {
    const image = await loadImage(file, scratch, 0);
    return { id: image.id, name: image.manifest.name };
  }, 'import');
}

function useMutant(cmd: string, name: string | undefined): void {
  if (name === undefined) return;
  if (!MUTANTS.some((m) => m.name === name)) usage(`${cmd}: unknown mutant ${name} (see 'ref mutants')`);
  setMutant(name);
}

/** Fetches an image by name with discovery and signature verification (spec/discovery.md) and prints
 *  its ID as JSON. Like import, it keeps no store: the image is checked and dropped. */
async function cmdFetch(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { name: { type: 'string' }, label: { type: 'string', multiple: true }, 'trust-dir': { type: 'string' }, 'ca-file': { type: 'string' }, mutant: { type: 'string' } },
    }));
  } catch (err) {
    usage(messageOf(err));
  }
  const name = values.name ?? usage('fetch: --name is required');
  const trustDir = resolve(values['trust-dir'] ?? usage('fetch: --trust-dir is required'));
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) usage(`fetch: --label wants NAME=VALUE, not ${l}`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  useMutant('fetch', values.mutant);
  return answerOrRefuse(
    async (scratch) => (await fetchModule()).fetchImage({ name, labels, trustDir, scratchDir: scratch, ...(values['ca-file'] ? { caFile: resolve(values['ca-file']) } : {}) }),
    'fetch',
  );
}

/** Adds keys to a trust store: given as files, or found by pubkeys discovery of the prefix (the
 *  operator's choice, as with rkt trust --prefix). */
async function cmdTrust(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'trust-dir': { type: 'string' },
        root: { type: 'boolean' },
        prefix: { type: 'string' },
        key: { type: 'string', multiple: true },
        discover: { type: 'boolean' },
        'ca-file': { type: 'string' },
        mutant: { type: 'string' },
      },
    }));
  } catch (err) {
    usage(messageOf(err));
  }
  const trustDir = resolve(values['trust-dir'] ?? usage('trust: --trust-dir is required'));
  if (values.root === (values.prefix !== undefined)) usage('trust: give exactly one of --root and --prefix');
  if ((values.key ?? []).length > 0 === Boolean(values.discover)) usage('trust: give --key files or --discover');
  if (values.discover && values.prefix === undefined) usage('trust: --discover needs --prefix');
  useMutant('trust', values.mutant);
  return answerOrRefuse(async () => {
    const keys = values.discover
      ? await (await fetchModule()).discoverKeys(values.prefix!, values['ca-file'] ? resolve(values['ca-file']) : undefined)
      : await Promise.all((values.key ?? []).map((k) => readFile(resolve(k), 'utf8')));
    return { prefix: values.prefix ?? null, fingerprints: await (await fetchModule()).trust(trustDir, keys, values.prefix) };
  });
}

async function cmdGc(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { 'data-dir': { type: 'string' } } }));
  } catch (err) {
    usage(messageOf(err));
  }
  const dataDir = resolve(values['data-dir'] ?? usage('gc: --data-dir is required'));
  // gc must work even where crun is gone: then only processes, cgroups, mounts and files are undone.
  const [{ Crun }, { gcDataDir }] = await Promise.all([crunModule(), import('./cleanup.js')]);
  const crun = await Crun.detect(`${dataDir}/crun`).catch(() => undefined);
  const problems = await gcDataDir(dataDir, crun);
  if (problems.length > 0) {
    process.stderr.write(`ref: gc incomplete: ${oneLine(problems.join('; '))}\n`);
    return EXIT.error;
  }
  return EXIT.ok;
}

async function cmdVersion(argv: string[]): Promise<number> {
  if (argv.length > 0) usage('version takes no arguments');
  const { Crun } = await crunModule();
  const crun = await Crun.detect('/nonexistent').then(
    (c) => c.version,
    () => null,
  );
  process.stdout.write(JSON.stringify({ name: 'ref', version: REF_VERSION, crun }) + '\n');
  return EXIT.ok;
}

function cmdMutants(argv: string[]): number {
  if (argv.length > 0) usage('mutants takes no arguments');
  process.stdout.write(JSON.stringify(MUTANTS) + '\n');
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return await cmdRun(rest);
      case 'import':
        return await cmdImport(rest);
      case 'fetch':
        return await cmdFetch(rest);
      case 'trust':
        return await cmdTrust(rest);
      case 'gc':
        return await cmdGc(rest);
      case 'version':
        return await cmdVersion(rest);
      case 'mutants':
        return cmdMutants(rest);
      default:
        usage(cmd === undefined ? 'missing command (run, import, fetch, trust, gc, version, mutants)' : `unknown command ${cmd}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ref: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`ref: error: ${oneLine(messageOf(err))}\n`);
    if (process.env.REF_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return EXIT.error;
  }
}

process.exitCode = await main(process.argv.slice(2));
