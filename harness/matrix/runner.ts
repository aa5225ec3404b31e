// Runs the cells of a matrix: each as its own `npm test` process into its own report directory,
// as many at once as allowed (targets.ts: canStart), a cell that cannot run here reported as not
// run with the reason. Ctrl-C / SIGTERM: no new cell starts, running ones get the signal and clean
// up (their own handler), then the matrix ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../run/paths.js';
import { cellDirName, type Cell } from './cell.js';
import { canStart, cellArgs, whyNotRunnable } from './targets.js';

export type CellStatus = 'ran' | 'not-run' | 'error';

/** cell.json: what the matrix did with a cell; beside the cell's own reports. */
export interface CellRecord {
  tool: 'appc-conformance';
  kind: 'matrix-cell';
  label: string;
  impl: string;
  flavor?: string;
  target: string;
  guest?: string;
  status: CellStatus;
  /** "i/n" when this run is one shard of the cell (its part of the suite files) */
  shard?: string;
  /** not run or error: why (one line) */
  reason?: string;
  exitCode?: number | null;
  signal?: string | null;
  wallMs: number;
  /** the npm test arguments it ran with */
  args?: string[];
}

export interface RunOptions {
  outDir: string;
  jobs: number;
  /** flags and file filters for every cell */
  common: string[];
  log?: (line: string) => void;
  /** this run is shard i/n of every cell ("1/3"): its directory is <cell>.shard-1-of-3 */
  shard?: string;
  /** for tests: the command a cell runs (default: node dist/harness/run/main.js) */
  command?: string[];
}

export const CELLS_DIR = 'cells';
const MAIN_JS = join(REPO_ROOT, 'dist', 'harness', 'run', 'main.js');

/** The last line a failed run printed on stderr under its own name ("appc-conformance: …"), else its last line. */
export function reasonFromLog(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const own = lines.filter((l) => l.startsWith('appc-conformance: ') && !l.includes('(see --help)'));
  const line = own.at(-1) ?? lines.at(-1) ?? 'no output';
  return line.replace(/^appc-conformance: /, '').slice(0, 500);
}

/** How a finished run is reported: exit 2 is the run's own refusal before any pod (bad input, a
 *  failed preflight): not run. Without results.json anything else is a harness error. */
export function classify(exitCode: number | null, hasResults: boolean, log: string): { status: CellStatus; reason?: string } {
  if (exitCode === 2) return { status: 'not-run', reason: reasonFromLog(log) };
  if (hasResults && exitCode !== null) return { status: 'ran' };
  return { status: 'error', reason: `${exitCode === null ? 'killed' : `exit ${exitCode}`} without results.json: ${reasonFromLog(log)}` };
}

export async function runCells(cells: readonly Cell[], opts: RunOptions): Promise<{ records: CellRecord[]; dirs: string[]; interrupted?: NodeJS.Signals }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const records = new Map<string, CellRecord>();
  const suffix = opts.shard ? `.shard-${opts.shard.replace('/', '-of-')}` : '';
  const dirs = cells.map((c) => join(opts.outDir, CELLS_DIR, cellDirName(c.label) + suffix));
  const pending = cells.map((cell, i) => ({ cell, dir: dirs[i]! }));
  const running = new Map<ChildProcess, Cell>();
  let interrupted: NodeJS.Signals | undefined;

  const write = (dir: string, rec: CellRecord) => {
    records.set(rec.label, rec);
    writeFileSync(join(dir, 'cell.json'), JSON.stringify(rec, null, 2) + '\n');
  };
  const base = (cell: Cell) => ({ tool: 'appc-conformance' as const, kind: 'matrix-cell' as const, label: cell.label, impl: cell.impl, flavor: cell.flavor, target: cell.target, guest: cell.guest, ...(opts.shard ? { shard: opts.shard } : {}) });

  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    log(`matrix: ${signal}: no new cell starts; ${running.size} running cell(s) are cleaning up`);
    for (const child of running.keys()) child.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await new Promise<void>((resolveAll) => {
      const pump = () => {
        for (let i = 0; i < pending.length; ) {
          const { cell, dir } = pending[i]!;
          if (interrupted) {
            mkdirSync(dir, { recursive: true });
            write(dir, { ...base(cell), status: 'not-run', reason: `the matrix was interrupted (${interrupted}) before this cell started`, wallMs: 0 });
            pending.splice(i, 1);
            continue;
          }
          const why = whyNotRunnable(cell);
          if (why) {
            rmSync(dir, { recursive: true, force: true });
            mkdirSync(dir, { recursive: true });
            write(dir, { ...base(cell), status: 'not-run', reason: why, wallMs: 0 });
            log(`[${cell.label}] not run: ${why}`);
            pending.splice(i, 1);
            continue;
          }
          if (!canStart(cell, [...running.values()], opts.jobs)) {
            i++;
            continue;
          }
          pending.splice(i, 1);
          start(cell, dir);
        }
        if (pending.length === 0 && running.size === 0) resolveAll();
      };

      const start = (cell: Cell, dir: string) => {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const args = cellArgs(cell, dir, opts.common);
        const logPath = join(dir, 'cell.log');
        const fd = openSync(logPath, 'w');
        const started = performance.now();
        const [cmd, ...pre] = opts.command ?? [process.execPath, MAIN_JS];
        log(`[${cell.label}] started: npm test -- ${args.join(' ')}`);
        // Its own process group: a terminal's Ctrl-C reaches the matrix, which hands it on once.
        const child = spawn(cmd!, [...pre, ...args], { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], detached: true, env: process.env });
        running.set(child, cell);
        const done = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
          if (!running.delete(child)) return;
          closeSync(fd);
          const text = readFileSync(logPath, 'utf8');
          const wallMs = Math.round(performance.now() - started);
          const hasResults = existsSync(join(dir, 'results.json'));
          const c = spawnError
            ? { status: 'error' as const, reason: `could not start: ${spawnError.message}` }
            : interrupted && !hasResults
              ? { status: 'not-run' as const, reason: `interrupted (${interrupted}) while running` }
              : classify(exitCode, hasResults, text);
          write(dir, { ...base(cell), ...c, exitCode, signal, wallMs, args });
          const closing = text.split('\n').reverse().find((l) => /^\d+ passed, \d+ failed, \d+ skipped$/.test(l.trim()));
          log(`[${cell.label}] ${c.status === 'ran' ? (closing ?? 'ran') : `${c.status}: ${c.reason}`} (exit ${exitCode ?? signal}, ${(wallMs / 1000).toFixed(1)} s; log ${logPath})`);
          pump();
        };
        child.once('error', (err) => done(null, null, err));
        child.once('exit', (code, signal) => done(code, signal));
      };
      pump();
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { records: cells.map((c) => records.get(c.label)!), dirs, interrupted };
}
