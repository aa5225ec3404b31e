// The default of --jobs. A pod of ref is mostly waiting (for the app's sleep or listen window, for
// crun, for the kernel) and partly CPU (node starting ref and its metadata service, unpacking the
// image), so a few more pods than cores keep the cores busy. Memory bounds it too: a pod with its
// ref, metadata service and probe takes ~150 MB, and a few tests allocate up to 256 MB in a pod.
import { availableParallelism, freemem } from 'node:os';
import { VM_CPUS, type TargetKind } from '../target/target.js';

/** Memory to keep per job. */
export const BYTES_PER_JOB = 512 * 1024 * 1024;
/** Jobs per core on this machine's kernel (host, container): measured, see docs/speed.md. */
export const JOBS_PER_CORE = 2;

/**
 * host and container targets: JOBS_PER_CORE per core, at most what free memory allows, at least 1.
 * VM targets (qemu, vagrant): one per guest vCPU, at most one per host core: under TCG each vCPU is
 * a host thread, and the smoke subset in the guest took 127 s with 1 job, 100 s with 2 and 138 s
 * with 4 on these 2 cores (docs/speed.md).
 */
export function defaultJobs(target: TargetKind, cores = availableParallelism(), freeBytes = freemem()): number {
  if (target === 'qemu' || target === 'vagrant') return Math.max(1, Math.min(VM_CPUS, cores));
  return Math.max(1, Math.min(cores * JOBS_PER_CORE, Math.floor(freeBytes / BYTES_PER_JOB)));
}

/** "1 pod", "4 pods": how the summary and bench count pods at once. */
export function pods(n: number): string {
  return n === 1 ? '1 pod' : `${n} pods`;
}
