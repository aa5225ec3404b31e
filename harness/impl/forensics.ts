// What a hanging pod is doing, taken before the harness kills it: the process tree under the
// implementation's command, each process's wait channel, cgroup and kernel stack where readable, and
// the mounts that mention the pod's work dir. Plain shell on the target, so any target can run it.
import type { Target } from '../target/index.js';

// The marker comes in the environment, not the arguments: pgrep -f must not find this script itself.
const SCRIPT = String.raw`
marker="$APPC_FORENSICS_MARKER"
echo "== processes whose command line mentions $marker, and their descendants"
all=""
queue=$(pgrep -f -- "$marker" | tr '\n' ' ')
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
