// Error classes say who is at fault; the reporter maps them to result kinds.

/** The harness or its infrastructure failed (fixture build, target, our own timeout): never the implementation's fault. */
export class HarnessError extends Error {
  override name = 'HarnessError';
}

/** Bad input from the user (flags, config files): one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
