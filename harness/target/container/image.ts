// The container's image, made locally from the qemu target's lean guest (its ext4 root, mounted
// read-only, streamed as a tar into the engine's import): no registry is ever asked. Its tag is the
// guest's cache key, so the image changes exactly when the guest does, and it is referenced by the
// exact name the engine lists (Podman: localhost/NAME:TAG), which a pull policy never mistakes
// for a remote image.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import type { ContainerRuntimeClient } from 'testcontainers';
import { HarnessError, UsageError } from '../../run/errors.js';
import { whileStarting } from '../abort.js';
import { ensureGuest } from '../guest/guest-image.js';
import { findOnPath } from './engine.js';

/** localhost/ as its registry: Docker and Podman alike list it under this very name, and nothing
 *  would ever be pulled from there. */
export const IMAGE_REPO = 'localhost/appc-conformance-guest';
/** Bumped when the way a guest becomes an image changes. */
const RECIPE = 'c1';

type Dockerode = ContainerRuntimeClient['container']['dockerode'];

async function listedName(docker: Dockerode, tag: string): Promise<string | undefined> {
  const images = await docker.listImages();
  for (const image of images) {
    const name = (image.RepoTags ?? []).find((t) => t === `${IMAGE_REPO}:${tag}`);
    if (name) return name;
  }
  return undefined;
}

/** The image of the lean guest, imported first when the engine lacks it; returns its listed name. */
export async function ensureImage(docker: Dockerode, workDir: string, log: (line: string) => void): Promise<string> {
  const guest = await ensureGuest({ profile: 'lean', progress: log });
  const tag = `${basename(guest.dir)}-${RECIPE}`;
  const known = await listedName(docker, tag);
  if (known) return known;

  log(`container: importing the lean guest's root into the engine as ${IMAGE_REPO}:${tag} (once per guest)`);
  const started = performance.now();
  for (const tool of ['mount', 'umount', 'tar']) {
    if (!findOnPath(tool)) throw new UsageError(`--target=container needs ${tool} to make its image`);
  }
  const mnt = await mkdtemp(join(workDir, 'rootfs-'));
  const mounted = await execa('mount', ['-o', 'loop,ro,noload', guest.rootfs, mnt], { reject: false });
  if (mounted.exitCode !== 0) {
    await rm(mnt, { recursive: true, force: true });
    throw new HarnessError(`cannot mount the guest's root ${guest.rootfs} read-only: ${mounted.stderr.trim()}`);
  }
  const unmount = async () => {
    await execa('umount', [mnt], { reject: false });
    await rm(mnt, { recursive: true, force: true });
  };
  const done = whileStarting(unmount);
  try {
    // The guest's kernel modules mean nothing in a container (it runs on this machine's kernel).
    const tar = spawn('tar', ['-C', mnt, '--numeric-owner', '--xattrs', '--exclude=./lib/modules', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString('utf8')));
    const tarDone = new Promise<number | null>((resolve) => tar.once('close', resolve));
    const progress = await docker.importImage(tar.stdout, { repo: `${IMAGE_REPO}:${tag}` });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(progress, (err: Error | null, events: { error?: string }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new HarnessError(`the engine could not import the guest's root: ${failed}`));
        else resolve();
      }),
    );
    const code = await tarDone;
    if (code !== 0) throw new HarnessError(`tar of the guest's root failed (exit ${code}): ${tarErr.trim().slice(-500)}`);
  } finally {
    done();
    await unmount();
  }
  const name = await listedName(docker, tag);
  if (!name) throw new HarnessError(`the engine does not list the imported image ${IMAGE_REPO}:${tag}`);
  log(`container: image ${name} ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  // Images of older guests are stale now; one still in use stays.
  for (const image of await docker.listImages()) {
    for (const t of image.RepoTags ?? []) {
      if (t.includes(`${IMAGE_REPO}:`) && t !== name) await docker.getImage(t).remove().catch(() => undefined);
    }
  }
  return name;
}

/** For set-up: a profile other than lean has no container image. */
export function checkProfile(profile: string): void {
  if (profile !== 'lean') {
    throw new UsageError(`--target=container runs the lean guest image only; this implementation needs the ${profile} guest (use --target=qemu)`);
  }
}
