// `actool validate` (built from Debian's appc spec source by npm run setup): an independent check
// that the images we build are valid ACIs.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { ACTOOL } from '../run/paths.js';

export function actoolAvailable(): boolean {
  return existsSync(ACTOOL);
}

/** Resolves with actool's complaint, or undefined when it accepts the image. */
export async function actoolValidate(acifile: string): Promise<string | undefined> {
  const res = await execa(ACTOOL, ['validate', acifile], { reject: false });
  return res.exitCode === 0 ? undefined : (res.stderr || res.stdout || `exit ${res.exitCode}`).trim();
}
