import { describe, expect, test } from 'vitest';
import { VM_CPUS } from '../target/target.js';
import { BYTES_PER_JOB, defaultJobs, JOBS_PER_CORE, pods } from './jobs.js';

const plenty = 64 * BYTES_PER_JOB;

describe('defaultJobs', () => {
  test('host and container: JOBS_PER_CORE per core, bounded by free memory, at least 1', () => {
    expect(defaultJobs('host', 2, plenty)).toBe(2 * JOBS_PER_CORE);
    expect(defaultJobs('container', 8, 3 * BYTES_PER_JOB)).toBe(3);
    expect(defaultJobs('host', 2, 0)).toBe(1);
  });
  test('VM targets: one per guest vCPU, never more than the host has cores', () => {
    expect(defaultJobs('qemu', 16, plenty)).toBe(VM_CPUS);
    expect(defaultJobs('vagrant', 16, plenty)).toBe(VM_CPUS);
    expect(defaultJobs('qemu', 1, plenty)).toBe(1);
  });
});

test('pods: singular for one', () => {
  expect([0, 1, 4].map(pods)).toEqual(['0 pods', '1 pod', '4 pods']);
});
