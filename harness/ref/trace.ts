// REF_TRACE=1 prints phase timestamps to stderr: where a pod's wall time goes.
const enabled = process.env.REF_TRACE === '1';
const t0 = performance.now();

export function trace(what: string): void {
  if (enabled) process.stderr.write(`ref: trace ${(performance.now() - t0).toFixed(1)} ms ${what}\n`);
}
