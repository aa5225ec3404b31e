// What each target needs on this machine before a cell may start, whether two suites can run on
// it at once, and how a cell's guest is passed to `npm test`. A cell whose needs are missing is
// "not run" with the reason; the other cells go on.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GUEST_PROFILES, GUEST_RELEASES } from '../target/guest/guest-image.js';
import { TARGET_KINDS } from '../target/target.js';
import type { Cell } from './cell.js';

export interface TargetTraits {
  /** each run gets a machine of its own (a VM): suites on it cannot disturb each other or the host */
  isolated: boolean;
  /** a one-line problem when this machine cannot host the target, else undefined */
  missing(): string | undefined;
  /** guest profiles and releases it knows (a cell's guest names at most one of each), and the
   *  flag that selects each */
  guests?: readonly string[];
  releases?: readonly string[];
  guestArgs?(word: string): string[];
}

/** The first of `cmds` found on PATH, or undefined. */
export function onPath(cmds: readonly string[], path = process.env.PATH ?? ''): string | undefined {
  for (const cmd of cmds) {
    for (const dir of path.split(delimiter)) {
      if (dir && isExecutable(join(dir, cmd))) return join(dir, cmd);
    }
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

// Targets not built into this harness are still listed so their cells say what they would need;
// they run once TARGET_KINDS has them. Unknown traits default to not isolated (the safe side).
const TRAITS: Record<string, TargetTraits> = {
  host: { isolated: false, missing: () => undefined },
  qemu: {
    isolated: true,
    missing: () => (onPath(['qemu-system-x86_64']) ? undefined : 'no VM tools: qemu-system-x86_64 not found (npm run setup -- --vm)'),
    guests: Object.keys(GUEST_PROFILES),
    releases: GUEST_RELEASES,
    guestArgs: (w) => [(GUEST_RELEASES as readonly string[]).includes(w) ? `--guest-release=${w}` : `--vm-profile=${w}`],
  },
  // Containers share this machine's kernel, cgroups and firewall: not isolated.
  container: {
    isolated: false,
    missing: () => (onPath(['podman', 'docker']) ? undefined : 'no container engine: neither podman nor docker found'),
  },
  vagrant: {
    isolated: true,
    missing: () => (onPath(['vagrant']) ? undefined : 'no VM tools: vagrant not found'),
  },
};

export function traitsOf(target: string): TargetTraits {
  return TRAITS[target] ?? { isolated: false, missing: () => undefined };
}

/** Why this cell cannot run here, or undefined when it can be tried (the run's own preflight may
 *  still refuse it: that is reported the same way). */
export function whyNotRunnable(cell: Cell, knownTargets: readonly string[] = TARGET_KINDS): string | undefined {
  if (!knownTargets.includes(cell.target)) return `unknown target ${cell.target} in this harness (known: ${knownTargets.join(', ')})`;
  const t = traitsOf(cell.target);
  if (cell.guest !== undefined) {
    if (!t.guests || !t.guestArgs) return `target ${cell.target} has no guest profiles`;
    const words = cell.guest.split('/');
    const releases = t.releases ?? [];
    for (const w of words) {
      if (!t.guests.includes(w) && !releases.includes(w)) {
        return `target ${cell.target} has no guest profile or release ${w} (profiles: ${t.guests.join(', ')}; releases: ${releases.join(', ') || 'none'})`;
      }
    }
    if (words.filter((w) => releases.includes(w)).length > 1 || words.filter((w) => t.guests!.includes(w)).length > 1) {
      return `guest ${cell.guest}: at most one profile and one release`;
    }
  }
  const missing = t.missing();
  if (missing) return missing;
  if (cell.impl === 'rkt') {
    if (cell.implPath !== undefined) {
      if (!existsSync(cell.implPath) || !isExecutable(cell.implPath)) return `no rkt binary: ${cell.implPath} is not an executable file`;
    } else if (!onPath(['rkt'])) return 'no rkt binary (give --impl-path rkt=PATH, or put rkt on PATH)';
  }
  if (cell.impl === 'generic' && cell.implConfig === undefined) return 'generic needs --impl-config generic=FILE';
  return undefined;
}

/** The `npm test` arguments of a cell (after `node dist/harness/run/main.js`). */
export function cellArgs(cell: Cell, reportDir: string, common: readonly string[]): string[] {
  const args = [`--impl=${cell.impl}`, `--target=${cell.target}`, `--report-dir=${reportDir}`];
  if (cell.flavor) args.push(`--flavor=${cell.flavor}`);
  for (const w of cell.guest?.split('/') ?? []) args.push(...(traitsOf(cell.target).guestArgs?.(w) ?? []));
  if (cell.implPath) args.push(`--impl-path=${cell.implPath}`);
  if (cell.implConfig) args.push(`--impl-config=${cell.implConfig}`);
  return [...args, ...common, ...cell.args];
}

/** Cells that may run beside each other: at most `jobs` at once, and at most one whose target
 *  does not isolate it (two suites on one machine disturb each other: ports, cgroups, timings). */
export function canStart(cell: Cell, running: readonly Cell[], jobs: number): boolean {
  if (running.length >= jobs) return false;
  if (traitsOf(cell.target).isolated) return true;
  return running.every((r) => traitsOf(r.target).isolated);
}
