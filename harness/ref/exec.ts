// exec[0] lookup (ACE-EXEC-001..003): a name without '/' is searched in PATH like execvp(3) does,
// inside the app's view (rootfs plus volumes); a name with '/' is used as it is.
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { isMutant } from './mutants.js';
import { resolveIn, type PathView } from './paths.js';

/** confstr(_CS_PATH), used when PATH is unset (ACE-EXEC-002). */
export const CS_PATH = '/bin:/usr/bin';

async function isExecutableFile(view: PathView, path: string): Promise<boolean> {
  const r = await resolveIn(view, path);
  if (!r.stat) return false;
  try {
    const st = await stat(r.host);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The program path to hand to the runtime, or undefined when PATH holds no executable of that
 * name. `cwd` is the app's working directory (for empty PATH entries and relative directories).
 */
export async function lookupExec(
  view: PathView,
  name: string,
  pathEnv: string | undefined,
  cwd: string,
): Promise<string | undefined> {
  if (name.includes('/')) return name;
  if (isMutant('exec-no-path-lookup')) return '/' + name;
  if (isMutant('lost-default-cwd')) return undefined;
  for (const dir of (pathEnv ?? CS_PATH).split(':')) {
    const candidate = posix.join(dir === '' ? '.' : dir, name);
    const absolute = posix.isAbsolute(candidate) ? candidate : posix.join(cwd, candidate);
    if (await isExecutableFile(view, absolute)) return candidate.startsWith('/') ? candidate : absolute;
  }
  return undefined;
}
