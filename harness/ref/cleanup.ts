// Undoing a pod: processes, crun containers, cgroups, mounts, files — after a normal run, a
// refusal, an error, a signal, or (through `ref gc`) a run that was SIGKILLed.
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { removePodCgroups, unescapeMount } from './cgroups.js';
import type { Crun } from './crun.js';
import { messageOf } from './errors.js';
import { findHolders } from './holder.js';
import { deletePodLink } from './network.js';
import { isAlive, killRef, runCommand, waitGone } from './procs.js';
import { readState, type PodState } from './state.js';
import { trace } from './trace.js';

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const base = resolve(dir);
  return mountinfo
    .split('\n')
    .map((line) => unescapeMount(line.split(' ')[4] ?? ''))
    .filter((mp) => mp === base || mp.startsWith(base + '/'))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string, problems: string[]): Promise<void> {
  for (const mp of mountsUnder(dir)) {
    const res = await runCommand('umount', ['--lazy', mp]);
    if (res.exitCode !== 0) problems.push(`umount ${mp}: ${res.stderr.trim()}`);
  }
}

/**
 * Removes everything a pod recorded. Never throws: what could not be removed is returned, so that
 * one stuck piece does not keep the others in place.
 */
export async function cleanupPod(podDir: string, state: PodState | undefined, crun: Crun | undefined): Promise<string[]> {
  const problems: string[] = [];
  let survivors: string[] = [];
  if (state) {
    // PID 1 of the pod first: its death kills every app process in the pod's PID namespace.
    const procs = [...state.processes].sort((a, b) => (a.role === 'pod-init' ? -1 : b.role === 'pod-init' ? 1 : 0));
    trace('cleanup: kill');
    for (const p of procs) killRef(p.proc);
    const unrecorded = findHolders(state.uuid).map((proc) => ({ role: 'holder (unrecorded)', proc }));
    for (const p of unrecorded) killRef(p.proc);
    const all = [...procs, ...unrecorded];
    if (!(await waitGone(all.map((p) => p.proc), 5000))) {
      survivors = all.filter((p) => isAlive(p.proc)).map((p) => `${p.role}:${p.proc.pid}`);
      problems.push(`processes still alive: ${survivors.join(' ')}`);
    }
    trace('cleanup: links');
    for (const hostIf of state.links ?? []) {
      const problem = await deletePodLink(hostIf);
      if (problem) problems.push(problem);
    }
    trace('cleanup: crun delete');
    if (crun) {
      const c = crun;
      await Promise.all(state.containers.map((id) => c.delete(id).catch((err: unknown) => problems.push(messageOf(err)))));
    }
    trace('cleanup: cgroups');
    problems.push(...(await removePodCgroups(state.uuid).catch((err: unknown) => [messageOf(err)])));
  }
  trace('cleanup: mounts and files');
  await unmountUnder(podDir, problems);
  if (survivors.length > 0) {
    // The state file is what lets `ref gc` try again: keep it while a process of the pod lives.
    problems.push(`kept ${podDir} for ref gc`);
    return problems;
  }
  await rm(podDir, { recursive: true, force: true }).catch((err: unknown) => problems.push(`rm ${podDir}: ${messageOf(err)}`));
  return problems;
}

/** `ref gc`: cleans every pod under the data dir, then removes the data dir. Idempotent. */
export async function gcDataDir(dataDir: string, crun: Crun | undefined): Promise<string[]> {
  const problems: string[] = [];
  if (!existsSync(dataDir)) return problems;
  const podsDir = join(dataDir, 'pods');
  const pods = existsSync(podsDir) ? await readdir(podsDir) : [];
  for (const uuid of pods) {
    const podDir = join(podsDir, uuid);
    const state = (await readState(podDir)) ?? {
      uuid,
      owner: null,
      processes: [],
      containers: [],
      apps: [],
    };
    // A run that is still alive would fight us: stop its ref process first.
    if (state.owner && state.owner.pid !== process.pid) killRef(state.owner);
    problems.push(...(await cleanupPod(podDir, state, crun)));
  }
  if (crun) {
    // Containers the state did not know about (e.g. killed between create and record).
    const ids = await crun.list().catch((err: unknown) => {
      problems.push(messageOf(err));
      return [];
    });
    for (const id of ids) await crun.delete(id).catch((err: unknown) => problems.push(messageOf(err)));
  }
  await unmountUnder(dataDir, problems);
  await rm(dataDir, { recursive: true, force: true }).catch((err: unknown) => problems.push(`rm ${dataDir}: ${messageOf(err)}`));
  return problems;
}
