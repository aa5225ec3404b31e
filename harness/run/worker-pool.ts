// The suites' test workers: vitest's forks, each in a process group of its own. A terminal's Ctrl-C
// is a SIGINT to its whole foreground process group; a worker in it that had not yet loaded the
// harness (its first second) died of it, and vitest then either crashed the run ("Worker exited
// unexpectedly", exit 1) or waited on the dead worker until the forced exit. Out of that group,
// workers hear of a Ctrl-C from the run itself (vitest cancels the tests, conformance.ts then stops
// the pods through their adapters), in order, as a VM target's QEMU does (harness/target).
import { fork, type ChildProcess } from 'node:child_process';
import { ForksPoolWorker, type PoolOptions, type PoolRunnerInitializer } from 'vitest/node';

const POOL = 'appc-forks';

class OwnGroupForksWorker extends ForksPoolWorker {
  // vitest reuses a worker for the next file only when its name is the pool's (isolate: false loads
  // the harness once per worker); with the base class's "forks" every file got a new worker.
  override readonly name = POOL;

  override async start(): Promise<void> {
    // vitest 4.1's ForksPoolWorker forks in start() unless _fork is set: the same fork, detached.
    const self = this as unknown as { _fork?: ChildProcess };
    self._fork ??= fork(this.entrypoint, [], { env: this.env, execArgv: this.execArgv, stdio: 'pipe', serialization: 'advanced', detached: true });
    return super.start();
  }
}

export const suiteWorkers: PoolRunnerInitializer = {
  name: POOL,
  createPoolWorker: (options: PoolOptions) => new OwnGroupForksWorker(options),
};
