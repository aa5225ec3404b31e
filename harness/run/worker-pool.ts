// The suites' test workers: vitest's forks, each in a process group of its own. A terminal's Ctrl-C
// is a SIGINT to its whole foreground process group; a worker in it that had not yet loaded the
// harness (its first second) died of it, and vitest then either crashed the run ("Worker exited
// unexpectedly", exit 1) or waited on the dead worker until the forced exit. Out of that group,
// workers hear of a Ctrl-C from the run itself (vitest cancels the tests, conformance.ts then stops
// the pods through their adapters), in order, as a VM target's QEMU does (harness/target).
import { fork, type ChildProcess } from 'node:child_process';
import { ForksPoolWorker, type PoolOptions, type PoolRunnerInitializer } from 'vitest/node';

class OwnGroupForksWorker extends ForksPoolWorker {
  override async start(): Promise<void> {
    // vitest 4.1's ForksPoolWorker forks in start() unless _fork is set: the same fork, detached.
    const self = this as unknown as { _fork?: ChildProcess };
    self._fork ??= fork(this.entrypoint, [], { env: this.env, execArgv: this.execArgv, stdio: 'pipe', serialization: 'advanced', detached: true });
    return super.start();
  }
}

export const suiteWorkers: PoolRunnerInitializer = {
  name: 'appc-forks',
  createPoolWorker: (options: PoolOptions) => new OwnGroupForksWorker(options),
};
