// Linux security modules and kernel parameters an app can ask for: os/linux/selinux-context,
// os/linux/apparmor-profile (ACE-ISO-SEL-*, ACE-ISO-AA-*) and the pod's os/unix/sysctl
// (ACE-ISO-SYSCTL-*). ref applies them through crun, or refuses the pod when this host cannot:
// an isolator is never silently dropped.
import { existsSync, readFileSync } from 'node:fs';
import type { Isolator } from '../aci/manifest.js';
import { refuse } from './errors.js';
import { isMutant } from './mutants.js';

export interface Security {
  selinuxLabel?: string;
  apparmorProfile?: string;
}

/** Names of the AppArmor profiles loaded on this host; undefined when AppArmor is not enabled. */
export function loadedAppArmorProfiles(): Set<string> | undefined {
  try {
    if (readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() !== 'Y') return undefined;
    const list = readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8');
    return new Set(list.split('\n').map((l) => l.replace(/ \((enforce|complain|kill|unconfined)\)$/, '')).filter(Boolean));
  } catch {
    return undefined;
  }
}

export function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}

/** The LSM settings of one app from its effective isolators (app-level ones already win). */
export function securityOf(isolators: readonly Isolator[], app: string): Security {
  const out: Security = {};
  const selinux = isolators.find((i) => i.name === 'os/linux/selinux-context')?.value as Record<string, string> | undefined;
  if (selinux) {
    if (!selinuxEnabled()) refuse(`app ${app}: os/linux/selinux-context cannot be applied: SELinux is not enabled on this host`);
    out.selinuxLabel = `${selinux.user}:${selinux.role}:${selinux.type}:${selinux.level}`;
  }
  const apparmor = isolators.find((i) => i.name === 'os/linux/apparmor-profile')?.value as { profile: string } | undefined;
  if (apparmor && !isMutant('ignore-apparmor')) {
    const loaded = loadedAppArmorProfiles();
    if (!loaded) refuse(`app ${app}: os/linux/apparmor-profile ${apparmor.profile} cannot be applied: AppArmor is not enabled on this host`);
    if (!loaded.has(apparmor.profile)) refuse(`app ${app}: AppArmor profile ${apparmor.profile} is not loaded on this host`);
    out.apparmorProfile = apparmor.profile;
  }
  return out;
}

/** Kernel parameters a pod may set: those of the namespaces it owns (network, IPC). Anything else
 *  would change the host, so the pod is refused (ACE-ISO-SYSCTL-005 allows ignoring or refusing). */
const NAMESPACED_SYSCTL = /^(net\.[a-z0-9_.-]+|kernel\.(shmmax|shmall|shmmni|shm_rmid_forced|msgmax|msgmnb|msgmni|sem)|fs\.mqueue\.[a-z_]+)$/;

/** The pod's os/unix/sysctl settings (pod scope only, ACE-ISO-SYSCTL-001). */
export function podSysctl(podIsolators: readonly Isolator[] | undefined): Record<string, string> {
  const iso = (podIsolators ?? []).find((i) => i.name === 'os/unix/sysctl');
  if (!iso || isMutant('ignore-sysctl') || isMutant('undeclared-sysctl-silent')) return {};
  const value = iso.value as Record<string, string>;
  for (const key of Object.keys(value)) {
    if (!NAMESPACED_SYSCTL.test(key)) refuse(`os/unix/sysctl: ${key} is not a parameter of the pod's own namespaces`);
  }
  return value;
}
