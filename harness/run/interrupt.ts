// Ctrl-C (SIGINT) and SIGTERM during a run. The first signal stops the run in order: vitest cancels
// what is left, test workers stop the pods in flight (the adapters' own clean-up runs), the reports
// are written marked as interrupted, then the run's scope and target are closed. A second signal, or
// a run that has not wound down after WIND_DOWN_MS, forces the exit after one bounded clean-up
// attempt. Exit codes: 130 (SIGINT), 143 (SIGTERM).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import type { Vitest } from 'vitest/node';
import type { RunScope } from '../impl/index.js';
import { childrenOf, isZombie } from '../ref/procs.js';
import type { ConformanceReporter } from '../report/conformance-reporter.js';
import { abortStarting, type StartedTarget } from '../target/index.js';

/** How long the orderly stop may take before the exit is forced (the bound is 30 s in all). */
export const WIND_DOWN_MS = 20_000;
/** How long an uncaught error waits for the signal it may have come of. */
const FALLOUT_MS = 200;
/** Each step of a forced clean-up gets this long. */
const FORCED_STEP_MS = 4_000;

const REAL_EXIT: (code?: number) => never = process.exit.bind(process);

export function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}

const log = (line: string) => console.error(`appc-conformance: ${line}`);

export class RunGuard {
  /** the first signal received, if any */
  signal?: NodeJS.Signals;
  private scope?: RunScope;
  private scopeOpening = false;
  private target?: StartedTarget;
  private reportDir?: string;
  private vitest?: Vitest;
  private reporter?: ConformanceReporter;
  private closing?: Promise<void>;
  private forcing = false;
  /** the run is over (dispose() was called); the process is about to exit */
  private finished = false;
  private watchdog?: NodeJS.Timeout;
  private scheduler?: { close(): Promise<void> };

  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.signal) {
      void this.force(`second signal (${signal})`);
      return;
    }
    this.signal = signal;
    if (this.finished) {
      // The run is over and its reports written: they are marked, then the process exits.
      log(`${signal}: the run had ended; marking its reports as interrupted`);
      this.reporter?.markInterrupted(signal);
      void this.exitAfterClose();
      return;
    }
    // vitest's own handler for the same signal calls process.exit() a millisecond later, which
    // would cut the clean-up short: from now on, process.exit() only notes the wish.
    process.exit = ((): void => undefined) as typeof process.exit;
    this.reporter?.markInterrupted(signal);
    if (this.vitest) {
      log(`${signal}: stopping the pods in flight, writing a partial report, cleaning up (Ctrl-C again forces the exit)`);
      this.watchdog = setTimeout(() => void this.force(`the run did not wind down within ${WIND_DOWN_MS / 1000} s`), WIND_DOWN_MS);
      void this.vitest.cancelCurrentRun('keyboard-input').catch(() => undefined);
      return;
    }
    log(`${signal}: cleaning up`);
    // A scope being opened is closed as soon as it is open (opened() below).
    if (!this.scopeOpening || this.scope) void this.exitAfterClose();
  };

  /**
   * A terminal's Ctrl-C also reaches the helpers vite started in this process group (esbuild's
   * service): what then fails (loading vitest.config.ts, a transform) comes of the signal, not of
   * the run, and must not end the stop half-way with a stack trace. The failure may be seen before
   * the signal's own handler has run, so an uncaught error is held a moment: after a signal it is
   * one line; else it ends the process as Node would (its stack, exit 1).
   */
  private readonly onUncaught = (err: unknown) => {
    setTimeout(() => {
      if (this.signal) return log(`after ${this.signal}: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
      console.error(err);
      REAL_EXIT(1);
    }, FALLOUT_MS);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('uncaughtException', this.onUncaught);
  }

  /** Takes the started target; it is stopped last, after the scope, its console log kept in `reportDir`. */
  started(target: StartedTarget, reportDir: string): void {
    this.target = target;
    this.reportDir = reportDir;
  }

  /** Takes the run's scheduler; it is closed with the scope (workers are gone by then). */
  scheduling(scheduler: { close(): Promise<void> }): void {
    this.scheduler = scheduler;
  }

  opening(): void {
    this.scopeOpening = true;
  }

  /** Takes the opened scope; if a signal came meanwhile, closes it and exits. */
  opened(scope: RunScope): void {
    this.scope = scope;
    if (this.signal) void this.exitAfterClose();
  }

  /** The tests run now: a signal cancels the run instead of exiting. */
  running(vitest: Vitest, reporter: ConformanceReporter): void {
    this.vitest = vitest;
    this.reporter = reporter;
    if (this.signal) {
      reporter.markInterrupted(this.signal);
      void vitest.cancelCurrentRun('keyboard-input').catch(() => undefined);
    }
  }

  private async exitAfterClose(): Promise<never> {
    await this.close().catch((err: Error) => log(`clean-up: ${err.message}`));
    // The workers that collect the catalog, in process groups of their own, end with the run.
    await stopTestWorkers(FORCED_STEP_MS);
    REAL_EXIT(exitCodeOf(this.signal ?? 'SIGTERM'));
  }

  /** One bounded clean-up attempt, then exit: pods are told to stop through their workers, what
   *  the reporter has is written, the scope and target are closed. */
  private async force(why: string): Promise<never> {
    if (this.forcing) return new Promise<never>(() => undefined);
    this.forcing = true;
    log(`${why}: forcing the exit after one clean-up attempt`);
    await bounded(stopTestWorkers(FORCED_STEP_MS), FORCED_STEP_MS + 500);
    try {
      if (this.vitest && this.reporter) this.reporter.writePartial(this.vitest.state.getTestModules());
    } catch (err) {
      log(`partial report: ${(err as Error).message}`);
    }
    if (this.vitest) {
      // vitest keeps a temp dir of its own until it is closed; if closing hangs, it is removed here.
      const tmp = (this.vitest as unknown as { _tmpDir?: string })._tmpDir;
      await bounded(this.vitest.close().catch(() => undefined), FORCED_STEP_MS);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    await bounded(
      this.close().catch((err: Error) => log(`clean-up: ${err.message}`)),
      2 * FORCED_STEP_MS,
    );
    REAL_EXIT(exitCodeOf(this.signal ?? 'SIGTERM'));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.scheduler?.close();
        await this.scope?.close();
      } finally {
        // A target still starting (a guest build, a booting VM) is ended too.
        await abortStarting();
        if (this.target?.saveConsole && this.reportDir && existsSync(this.reportDir)) {
          await this.target.saveConsole(join(this.reportDir, 'target-console.log'));
        }
        await this.target?.stop();
      }
    })();
    return this.closing;
  }

  /** Ends the process of an interrupted run, once everything is closed. */
  exit(): never {
    return REAL_EXIT(exitCodeOf(this.signal ?? 'SIGTERM'));
  }

  /** Closes the scope and target. The handlers stay until the process exits: a late signal then
   *  marks the written reports and exits, instead of killing the process half-way. */
  async dispose(): Promise<void> {
    clearTimeout(this.watchdog);
    await this.close();
    this.finished = true;
  }
}

function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work.then(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

/** This process's test workers (vitest's forks), from /proc. The target's own processes, also
 *  children of this one (a Podman service, QEMU), are left to the target's stop: ended first, a
 *  Podman service could no longer remove the run's container. */
export function testWorkerPids(parent = process.pid): number[] {
  return childrenOf(parent).filter((pid) => {
    try {
      return /\/vitest\/dist\/workers\//.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** SIGTERM to every test worker (it then stops its pods through the adapter, see conformance.ts),
 *  and waits for them to end. */
async function stopTestWorkers(withinMs: number): Promise<void> {
  const pids = testWorkerPids();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && pids.some((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid))) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
