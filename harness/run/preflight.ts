// Everything about the user's input that can be checked before a target starts or a pod runs: the
// implementation and the files its flags name, the clause selection, the expectation file, the
// target's own tools, free disk space, and the report dir (made here, with a bounded loop of our own).
// Each problem is one UsageError line (exit 2); a report dir made here is removed again when the run
// stops before anything was written into it.
import { accessSync, constants, mkdirSync, readFileSync, rmdirSync, statfsSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadGenericConfig } from '../impl/generic/config.js';
import { loadExpectations } from '../impl/expectations.js';
import { IMPLEMENTATION_NAMES } from '../impl/registry.js';
import { MUTANTS } from '../ref/mutants.js';
import { CLAUSES } from '../spec/index.js';
import { qemuPrerequisite } from '../target/qemu/qemu-target.js';
import type { CliRequest } from './config.js';
import { UsageError } from './errors.js';
import { FIXTURE_BUILD_DIR, PROBE_BINARY, REF_CLI } from './paths.js';
import { globToRegExp } from './selection.js';

/** Free space a run needs where reports go (results, artifact folders, a VM's console log). */
export const MIN_REPORT_FREE_BYTES = 16 * 1024 * 1024;
/** Free space a run needs where pods are unpacked (the target's temp dir) and fixtures are built. */
export const MIN_WORK_FREE_BYTES = 256 * 1024 * 1024;
/** A report dir path deeper than this is refused rather than walked. */
const MAX_DIR_DEPTH = 64;

export interface Prepared {
  /** --rerun-failed: the IDs of the earlier run's failed, errored and unexpectedly passing tests */
  readonly rerunIds?: string[];
  /** directories the preflight made (outermost first) */
  readonly createdDirs: readonly string[];
  /** removes what the preflight made, where still empty: the run ended before writing anything */
  undo(): void;
}

/** Checks the request's input; makes the report dir when the mode writes reports. Throws UsageError. */
export function preflightInput(request: CliRequest): Prepared {
  const { config, selection, mode } = request;
  if (!IMPLEMENTATION_NAMES.includes(config.impl)) {
    throw new UsageError(`unknown --impl ${JSON.stringify(config.impl)} (known: ${IMPLEMENTATION_NAMES.join(', ')})`);
  }
  for (const glob of selection.clauseGlobs) {
    const re = globToRegExp(glob);
    if (![...CLAUSES.keys()].some((id) => re.test(id))) throw new UsageError(`--clause ${glob} matches no clause of the registry`);
  }
  if (config.expectationsPath !== undefined) loadExpectations(config.expectationsPath); // test IDs are checked once the suites are collected
  const rerunIds = selection.rerunFailed !== undefined ? failedTestsOf(selection.rerunFailed) : undefined;
  const prepared = (createdDirs: string[]): Prepared => ({ createdDirs, undo: () => removeEmptyDirs(createdDirs), ...(rerunIds ? { rerunIds } : {}) });
  if (mode === 'list') return prepared([]);

  checkImplementationFlags(request);
  if (!fileExists(PROBE_BINARY)) throw new UsageError('the probe is not built: run npm run setup');
  if (config.target === 'qemu') {
    const problem = qemuPrerequisite();
    if (problem) throw new UsageError(problem);
    if (config.vmImage !== undefined && !statOf(config.vmImage, '--vm-image')?.isDirectory()) throw new UsageError(`--vm-image ${config.vmImage}: not a directory`);
  }
  for (const dir of new Set([tmpdir(), FIXTURE_BUILD_DIR])) checkFreeSpace(dir, MIN_WORK_FREE_BYTES, 'work dir');
  if (mode === 'explain') return prepared([]);
  const createdDirs = makeReportDir(config.reportDir);
  try {
    checkFreeSpace(config.reportDir, MIN_REPORT_FREE_BYTES, '--report-dir');
  } catch (err) {
    removeEmptyDirs(createdDirs);
    throw err;
  }
  return prepared(createdDirs);
}

/** The tests an earlier run failed, errored or passed unexpectedly, from its results.json. */
function failedTestsOf(dir: string): string[] {
  const path = join(dir, 'results.json');
  let doc: { tests?: { id: string; status: string }[] };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (err) {
    throw new UsageError(`--rerun-failed ${dir}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(doc.tests)) throw new UsageError(`--rerun-failed ${dir}: ${path} is not a results file`);
  const ids = doc.tests.filter((t) => t.status === 'fail' || t.status === 'error' || t.status === 'xpass').map((t) => t.id);
  if (ids.length === 0) throw new UsageError(`--rerun-failed ${dir}: no test failed, errored or passed unexpectedly in that run`);
  return ids;
}

/** Flags that name the implementation's files, or apply to one implementation only. */
function checkImplementationFlags({ config }: CliRequest): void {
  if (config.mutant !== undefined) {
    if (config.impl !== 'ref') throw new UsageError('--mutant applies to --impl=ref only');
    if (!MUTANTS.some((m) => m.name === config.mutant)) {
      throw new UsageError(`unknown --mutant ${JSON.stringify(config.mutant)} (known: ${MUTANTS.map((m) => m.name).join(', ')})`);
    }
  }
  if (config.implConfig !== undefined && config.impl !== 'generic') throw new UsageError('--impl-config applies to --impl=generic only');
  if (config.impl === 'ref') {
    if (config.implPath !== undefined) throw new UsageError('ref: --impl-path is not used by ref (it is embedded)');
    if (config.flavor !== undefined) throw new UsageError('ref: --flavor is not used by ref (it has no flavors)');
    if (!fileExists(REF_CLI)) throw new UsageError(`ref is not built (${REF_CLI} missing): run npm run build`);
  }
  if (config.impl === 'generic') {
    if (config.implConfig === undefined) throw new UsageError('generic: needs --impl-config FILE (see README: the generic adapter)');
    loadGenericConfig(config.implConfig); // one line naming the file and field
  }
  if (config.implPath !== undefined) {
    const st = statOf(config.implPath, '--impl-path');
    if (!st) throw new UsageError(`--impl-path ${config.implPath}: no such file`);
    if (!st.isFile()) throw new UsageError(`--impl-path ${config.implPath}: not a file`);
    try {
      accessSync(config.implPath, constants.X_OK);
    } catch {
      throw new UsageError(`--impl-path ${config.implPath}: not executable`);
    }
  }
}

function fileExists(path: string): boolean {
  return statOf(path, path)?.isFile() ?? false;
}

/** The path's stats, undefined when it does not exist; any other problem is the user's one line. */
function statOf(path: string, what: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new UsageError(`${what} ${path}: a part of the path is not a directory`);
    throw new UsageError(`${what} ${path}: ${code ?? (err as Error).message}`);
  }
}

/** The path itself or its nearest existing ancestor (at most MAX_DIR_DEPTH steps up). */
function nearestExisting(path: string, what: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let at = resolve(path);
  for (let depth = 0; depth <= MAX_DIR_DEPTH; depth++) {
    const st = statOf(at, what);
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`${what} ${path}: ${at} is not a directory`);
      return { existing: at, missing };
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  throw new UsageError(`${what} ${path}: too deep, or no existing parent directory`);
}

export function checkFreeSpace(path: string, minBytes: number, what: string): void {
  const { existing } = nearestExisting(path, what);
  let free: number;
  try {
    const s = statfsSync(existing);
    free = s.bavail * s.bsize;
  } catch (err) {
    throw new UsageError(`${what} ${path}: cannot read its free space (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (free < minBytes) {
    throw new UsageError(`${what} ${path}: only ${mib(free)} free on its file system, a run needs ${mib(minBytes)}`);
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MiB`;

/**
 * Makes the report dir one level at a time (never fs.mkdir's recursive mode, which loops forever on
 * paths such as /proc/x), then proves it writable. Returns the directories it made, outermost first.
 */
export function makeReportDir(dir: string): string[] {
  const { missing } = nearestExisting(dir, '--report-dir');
  const created: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (err) {
      removeEmptyDirs(created);
      throw new UsageError(`--report-dir ${dir}: cannot create ${d} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const probe = join(dir, `.appc-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    removeEmptyDirs(created);
    throw new UsageError(`--report-dir ${dir}: not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return created;
}

/** Removes the directories (innermost first) that are still empty. */
export function removeEmptyDirs(dirs: readonly string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (reports were written) or already gone: keep it and its parents
    }
  }
}
