// Host-wide state a pod may change (a kernel parameter outside the pod's namespaces, …): tests
// declare it on their pod run. The harness then holds the setting alone while the pod runs, reads it
// before and after, puts it back when it changed, and the run's summary lists what was read. On the
// host target `--no-host-changes` skips those tests (skip kind `host`); a VM or container target is
// the run's own machine, so they run there freely.
import type { RunConfig } from './config.js';
import type { Claim } from '../schedule/scheduler.js';
import type { Target } from '../target/index.js';

/** A setting outside any pod. Only kernel parameters so far: what the suites change. */
export interface HostSetting {
  /** a kernel parameter by its sysctl name, e.g. vm.overcommit_ratio */
  sysctl: string;
}

/** What the harness saw of one declared setting around one pod run. */
export interface HostChangeRecord {
  setting: string;
  /** the test that ran the pod */
  test?: string;
  before: string;
  /** read right after the pod ended */
  after: string;
  /** the pod changed it and the harness wrote `before` back */
  restored: boolean;
  /** read at the end: equals `before` unless putting it back failed */
  final: string;
  error?: string;
}

const SYSCTL_NAME = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i;

export function settingName(s: HostSetting): string {
  return `sysctl ${s.sysctl}`;
}

export function settingPath(s: HostSetting): string {
  if (!SYSCTL_NAME.test(s.sysctl)) throw new Error(`not a sysctl name: ${JSON.stringify(s.sysctl)}`);
  return `/proc/sys/${s.sysctl.replaceAll('.', '/')}`;
}

/** The scheduler claim that keeps two pods changing the same setting apart. */
export function settingClaim(s: HostSetting): Claim {
  return { name: `host-setting:${settingName(s)}`, mode: 'exclusive' };
}

/** Why a test that changes host state does not run here, or undefined when it may. */
export function hostChangesRefused(config: Pick<RunConfig, 'target' | 'hostChanges'>, settings: readonly HostSetting[]): string | undefined {
  if (settings.length === 0 || config.target !== 'host' || config.hostChanges !== false) return undefined;
  return `host: --no-host-changes: this test's pod may change host-wide state (${settings.map(settingName).join(', ')})`;
}

async function read(target: Target, s: HostSetting): Promise<string> {
  return (await target.readFile(settingPath(s))).trim();
}

/**
 * Around one pod: `watch` reads each setting before it runs, `seen` right after it ends, `restore`
 * writes back what changed once the test has looked (a check of the host after the pod must see
 * what the pod did, not the harness's repair).
 */
export class HostSettingsWatch {
  readonly records: HostChangeRecord[] = [];

  private constructor(
    private readonly target: Target,
    private readonly settings: readonly HostSetting[],
    private readonly before: readonly string[],
  ) {}

  static async watch(target: Target, settings: readonly HostSetting[]): Promise<HostSettingsWatch> {
    const before: string[] = [];
    for (const s of settings) before.push(await read(target, s));
    return new HostSettingsWatch(target, settings, before);
  }

  /** Reads each setting after the pod. */
  async seen(): Promise<void> {
    for (const [i, s] of this.settings.entries()) {
      const was = this.before[i]!;
      const record: HostChangeRecord = { setting: settingName(s), before: was, after: was, restored: false, final: was };
      try {
        record.after = await read(this.target, s);
      } catch (err) {
        record.error = (err as Error).message;
      }
      this.records.push(record);
    }
  }

  /** Writes back each setting that is not what it was before the pod, then reads it once more. */
  async restore(): Promise<void> {
    for (const [i, s] of this.settings.entries()) {
      const record = this.records[i];
      const was = this.before[i]!;
      if (!record) continue;
      try {
        const now = await read(this.target, s);
        if (now !== was) {
          const put = await this.target.exec(['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', was, settingPath(s)], { timeoutMs: 10_000 });
          record.restored = put.exitCode === 0;
          if (!record.restored) record.error = `could not write it back: ${put.stderr.trim()}`;
        }
        record.final = await read(this.target, s);
      } catch (err) {
        record.error = (err as Error).message;
      }
    }
  }
}

/** Summary lines: each setting, what it was before and after the pod, and that it is back. */
export function renderHostChanges(records: readonly HostChangeRecord[]): string[] {
  if (records.length === 0) return [];
  const lines = ['', 'Host changes (settings tests declared they may change; read before and after each pod):'];
  for (const r of records) {
    const what = r.after === r.before ? 'unchanged after the pod' : r.final === r.before ? `changed to ${r.after} by the pod, put back` : `changed to ${r.after} by the pod, NOT put back (now ${r.final})`;
    lines.push(`  - ${r.setting}: ${r.before} before, ${what}${r.error ? ` (${r.error})` : ''}${r.test ? ` — ${r.test}` : ''}`);
  }
  return lines;
}
