// What a pod has created on the host, written to DIR/pods/<uuid>/state.json *before* each thing is
// created, so that `ref gc` can undo a run that was SIGKILLed at any point.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcRef } from './procs.js';

export interface PodState {
  uuid: string;
  /** the ref process that ran the pod */
  owner: ProcRef | null;
  /** holder, pod init, app monitors and app processes */
  processes: { role: string; proc: ProcRef }[];
  /** crun container ids in the data dir's crun root */
  containers: string[];
  apps: string[];
  /** host ends of the pod's veth pairs (network.ts) */
  links?: string[];
}

export const STATE_FILE = 'state.json';

export class StateFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly podDir: string,
    readonly state: PodState,
  ) {}

  /** Applies a change and persists it; writes are serialised and atomic (rename). */
  update(change: (s: PodState) => void): Promise<void> {
    change(this.state);
    const snapshot = JSON.stringify(this.state, null, 2);
    this.writing = this.writing.then(async () => {
      const tmp = join(this.podDir, `${STATE_FILE}.tmp`);
      await writeFile(tmp, snapshot);
      await rename(tmp, join(this.podDir, STATE_FILE));
    });
    return this.writing;
  }
}

export async function readState(podDir: string): Promise<PodState | undefined> {
  try {
    return JSON.parse(await readFile(join(podDir, STATE_FILE), 'utf8')) as PodState;
  } catch {
    return undefined;
  }
}
