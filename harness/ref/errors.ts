// Error classes that decide ref's exit status (see main.ts): who is at fault, not where it happened.

/** The pod cannot run as described (invalid manifest, missing volume source, unknown user…): exit 1. */
export class RefusalError extends Error {
  override name = 'RefusalError';
}

/** ref itself or the host failed (crun missing, a mount or cgroup operation failed): exit 3. */
export class InfraError extends Error {
  override name = 'InfraError';
}

/** The run was interrupted by SIGTERM/SIGINT. */
export class KilledError extends Error {
  override name = 'KilledError';
  constructor(readonly signal: 'SIGTERM' | 'SIGINT') {
    super(`interrupted by ${signal}`);
  }
}

export function refuse(message: string): never {
  throw new RefusalError(message);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
