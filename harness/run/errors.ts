// Error classes say who is at fault; the reporter maps them to result kinds.

/** The harness or its infrastructure failed (fixture build, target, our own timeout): never the implementation's fault. */
export class HarnessError extends Error {
  override name = 'HarnessError';
}

/** Bad input from the user (flags, config files): one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The run was interrupted (Ctrl-C, SIGTERM) while this work went on: neither the implementation's
 *  fault nor the harness's; the test is reported as skipped (interrupted). */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly signal: string) {
    super(`the run was interrupted (${signal})`);
  }
}
