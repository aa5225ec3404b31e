// What a hanging pod is doing, taken before the harness kills it: the process tree under the
// implementation's command, each process's wait channel, cgroup and kernel stack where readable, and
// the mounts that mention the pod's work dir. Plain shell on the target, so any target can run it.
import { recordForensics } from '../run/evidence.js';
import type { ExecResult, Target } from '../target/index.js';

// The marker comes in the environment, not the arguments: pgrep -f must not find this script itself.
const SCRIPT = String.raw`
marker="$APPC_FORENSICS_MARKER"
echo "== processes whose command line or working directory mentions $marker, and their descendants"
all=""
# A generic adapter's command may name nothing of the work dir but run in it (its default cwd).
in_work() { for d in /proc/[0-9]*; do c=$(readlink "$d/cwd" 2>/dev/null) || continue; case "$c" in "$marker"|"$marker"/*) basename "$d";; esac; done; }
queue=$( { pgrep -f -- "$marker"; in_work; } | grep -vx "$$" | sort -un | tr '\n' ' ')
while :; do
  set -- $queue
  [ $# -eq 0 ] && break
  p=$1; shift; queue="$*"
  case " $all " in *" $p "*) continue;; esac
  all="$all $p"
  queue="$queue $(pgrep -P "$p" | tr '\n' ' ')"
done
if [ -n "$all" ]; then ps -o pid,ppid,stat,etimes,wchan:32,args -p "$(echo $all | tr ' ' ',')"; else echo "(none)"; fi
for p in $all; do
  echo "== /proc/$p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-200)"
  echo "wchan: $(cat /proc/$p/wchan 2>/dev/null || echo unreadable)"
  echo "cgroup: $(cat /proc/$p/cgroup 2>/dev/null | tr '\n' ' ')"
  echo "stack:"; cat /proc/$p/stack 2>/dev/null || echo "  (unreadable)"
done
echo "== mounts mentioning $marker"
grep -F -- "$marker" /proc/self/mountinfo || echo "(none)"
`;

/** A text report of the pod's processes; never throws (forensics must not hide the timeout). */
export async function podForensics(target: Target, marker: string): Promise<string> {
  try {
    const res = await target.exec(['sh', '-c', SCRIPT], { timeoutMs: 15_000, env: { APPC_FORENSICS_MARKER: marker } });
    return `${res.stdout}${res.stderr ? `\n== stderr\n${res.stderr}` : ''}`;
  } catch (err) {
    return `forensics could not be taken: ${(err as Error).message}`;
  }
}

/** Time for the forensics of a hanging pod before the command's own timeout kills it. */
export const FORENSICS_GRACE_MS = 20_000;

/**
 * Runs a pod's command under the harness's pod timeout. When the timeout comes, forensics are taken
 * while the pod still hangs (processes under `marker`, plus `status`: the implementation's own view
 * of the pod), recorded in the test's artifacts, and only then is the command stopped. An
 * interrupted run (`interrupt`) stops it at once. The command's own timeout is a backstop.
 */
export async function execWithForensics(
  target: Target,
  run: (opts: { timeoutMs: number; signal: AbortSignal }) => Promise<ExecResult>,
  o: { marker: string; timeoutMs: number; interrupt?: AbortSignal; status?: () => Promise<string> },
): Promise<{ res: ExecResult; hung: boolean }> {
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  o.interrupt?.addEventListener('abort', onInterrupt, { once: true });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    void (async () => {
      let text = await podForensics(target, o.marker);
      if (o.status) {
        const status = await o.status().catch((err: Error) => `could not be read: ${err.message}`);
        text += `\n== the implementation's status of the pod\n${status}`;
      }
      recordForensics(text);
      stop.abort();
    })();
  }, o.timeoutMs);
  try {
    const res = await run({ timeoutMs: o.timeoutMs + FORENSICS_GRACE_MS, signal: stop.signal });
    return { res, hung: hung || res.timedOut };
  } finally {
    clearTimeout(timer);
    o.interrupt?.removeEventListener('abort', onInterrupt);
  }
}
