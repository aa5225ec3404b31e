// Deliberately broken behaviours for the suite's self-check: each mutant flips one switch at the
// point of the behaviour it breaks (grep for isMutant('<name>')). A suite that still passes the
// named clauses under a mutant does not really test them.

export interface Mutant {
  name: string;
  clauses: string[];
  description: string;
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'wrong-cwd',
    clauses: ['ACE-WD-001', 'ACE-WD-004'],
    description: "ignores workingDirectory: every app starts in '/' (so a missing one goes unnoticed too)",
  },
  { name: 'drop-env', clauses: ['ACE-ENV-007'], description: 'drops the first environment entry of the app' },
  { name: 'exit-zero', clauses: ['FN-EXIT-001', 'FN-EXIT-002'], description: 'reports exit code 0 for every app' },
  {
    name: 'ignore-readonly',
    clauses: ['POD-VOL-002', 'ACE-MNT-001'],
    description: 'mounts read-only volumes and mountPoints read-write',
  },
  { name: 'no-path-default', clauses: ['ACE-ENV-001'], description: 'does not set the default PATH' },
  {
    name: 'wrong-app-name',
    clauses: ['ACE-ENV-002'],
    description: 'sets AC_APP_NAME to the image name instead of the pod app name',
  },
  {
    name: 'ignore-user',
    clauses: ['ACE-USER-001', 'ACE-USER-002', 'ACE-USER-003', 'ACE-USER-004'],
    description: 'runs every app as 0:0 whatever user and group say',
  },
  { name: 'drop-supp-gids', clauses: ['ACE-USER-005'], description: 'ignores supplementaryGIDs' },
  {
    name: 'separate-netns',
    clauses: ['POD-CTX-002'],
    description: 'gives each app its own network namespace instead of the pod one',
  },
  {
    name: 'first-app-status',
    clauses: ['FN-EXIT-002'],
    description: "reports the first app's exit status for every app",
  },
  {
    name: 'exec-no-path-lookup',
    clauses: ['ACE-EXEC-001'],
    description: "resolves an exec[0] without '/' as '/'+name instead of searching PATH",
  },
];

export type MutantName =
  | 'wrong-cwd'
  | 'drop-env'
  | 'exit-zero'
  | 'ignore-readonly'
  | 'no-path-default'
  | 'wrong-app-name'
  | 'ignore-user'
  | 'drop-supp-gids'
  | 'separate-netns'
  | 'first-app-status'
  | 'exec-no-path-lookup';

let active: string | undefined;

/** Selects the mutant of this process (main.ts does it once, from --mutant). */
export function setMutant(name: string | undefined): void {
  if (name !== undefined && !MUTANTS.some((m) => m.name === name)) throw new Error(`unknown mutant: ${name}`);
  active = name;
}

export function activeMutant(): string | undefined {
  return active;
}

export function isMutant(name: MutantName): boolean {
  return active === name;
}
