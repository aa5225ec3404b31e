// Driving crun. Two host quirks are handled here:
// * crun 1.8 refuses to run at all in cgroup "hybrid" mode when the cgroup2 hierarchy at
//   /sys/fs/cgroup/unified has controllers (here: hugetlb). crun then runs in a private mount
//   namespace without that mount, where it sees plain cgroup v1 ("legacy") and works.
// * `crun run` reports a signal death as 128+N, indistinguishable from exit(128+N). Each app is
//   therefore started detached under a small monitor that is a child subreaper: the app's process
//   is reparented to it when crun exits, and it reports the raw wait status.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { InfraError, messageOf } from './errors.js';
import { runCommand, type CommandResult } from './procs.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** True when crun would see a hybrid hierarchy whose cgroup2 part has controllers. */
export function needsLegacyView(): boolean {
  try {
    if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) return false;
    if (statfsSync('/sys/fs/cgroup/unified').type !== CGROUP2_SUPER_MAGIC) return false;
    return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** prctl(2) syscall numbers, for the monitor's PR_SET_CHILD_SUBREAPER. */
const PRCTL_NR: Record<string, number> = { x64: 157, arm64: 167, riscv64: 167, loong64: 167, ia32: 172, arm: 172, ppc64: 171, s390x: 172 };

// The monitor: becomes a child subreaper, runs `crun run --detach`, reports the container's host
// pid and then its raw wait status on fd 3. Perl because perl-base is Essential on Debian and can
// call prctl and waitpid(-1) without a compiler; the script is tiny and does nothing else.
// Its first NPASS arguments after the pid file are files for crun to pass on at fds 3, 4, …
// (`crun run --preserve-fds`): `tcp:PORT` or `udp:PORT` is a socket it makes itself, bound to all
// IPv4 addresses of the network namespace it runs in and listening before crun starts (`:shared`
// after the port sets SO_REUSEPORT), `file:PATH` a file opened read-only. It keeps no copy of them.
const MONITOR = String.raw`
use strict; use warnings;
use Fcntl qw(F_DUPFD);
use POSIX ();
use Socket qw(PF_INET SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR SO_REUSEPORT SOMAXCONN INADDR_ANY pack_sockaddr_in);
my ($nr, $pidfile, $npass, @rest) = @ARGV;
my @items = splice(@rest, 0, $npass);
my @cmd = @rest;
open(my $rep, '>&=', 3) or die "ref-monitor: fd 3: $!\n";
$rep->autoflush(1);
syscall($nr, 36, 1, 0, 0, 0) == 0 or do { print $rep "failed prctl $!\n"; exit 0 };
my @pass;
for my $item (@items) {
  my ($kind, $arg) = split /:/, $item, 2;
  if ($kind eq 'file') {
    open(my $fh, '<', $arg) or do { print $rep "failed pass $item: $!\n"; exit 0 };
    push @pass, $fh;
    next;
  }
  my ($port, $opt) = split /:/, $arg;
  my $tcp = $kind eq 'tcp';
  my $s;
  socket($s, PF_INET, $tcp ? SOCK_STREAM : SOCK_DGRAM, 0)
    && setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1)
    && (($opt // '') ne 'shared' || setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1))
    && bind($s, pack_sockaddr_in($port, INADDR_ANY))
    && (!$tcp || listen($s, SOMAXCONN))
    or do { print $rep "failed pass $item: $!\n"; exit 0 };
  push @pass, $s;
}
my $kid = fork();
defined $kid or do { print $rep "failed fork $!\n"; exit 0 };
if ($kid == 0) {
  # Above the target range first, so that no file overwrites another on its way to fd 3+i; dup2
  # leaves the targets inheritable, and Perl's own descriptors close on exec.
  my @tmp = map { fcntl($_, F_DUPFD, 3 + @pass) // POSIX::_exit(126) } @pass;
  for my $i (0 .. $#tmp) { defined POSIX::dup2($tmp[$i], 3 + $i) or POSIX::_exit(126); POSIX::close($tmp[$i]); }
  exec { $cmd[0] } @cmd or POSIX::_exit(127);
}
close $_ for @pass;
waitpid($kid, 0);
my $rc = $?;
if ($rc != 0) { print $rep "failed crun $rc\n"; exit 0 }
open(my $fh, '<', $pidfile) or do { print $rep "failed pidfile $!\n"; exit 0 };
my $pid = <$fh>; close $fh; chomp $pid;
print $rep "started $pid\n";
while (1) {
  my $p = waitpid(-1, 0);
  last if $p <= 0;
  if ($p == $pid) { print $rep "exited $?\n"; }
}
`;

/** A file the app's main process gets at fds 3, 4, … (see MONITOR). */
export type PassedFile = { socket: 'tcp' | 'udp'; port: number; shared?: boolean } | { file: string };

/** Files to pass to the app, made or opened by its monitor inside network namespace `netns`. */
export interface PassFiles {
  netns: string;
  files: readonly PassedFile[];
}

export interface AppExit {
  exitCode: number | null;
  signal: string | null;
}

export function decodeWaitStatus(status: number): AppExit {
  const sig = status & 0x7f;
  if (sig === 0) return { exitCode: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `SIG${sig}`;
  return { exitCode: null, signal: name };
}

export interface StartedApp {
  /** the monitor process */
  monitor: ChildProcess;
  /** resolves with the container's host pid once crun has started it */
  started: Promise<number>;
  /** resolves when the app's main process has been reaped */
  exited: Promise<AppExit>;
  stdout: Promise<string>;
  stderr: Promise<string>;
  /** output so far, for when a process the app left behind keeps the streams open */
  outputSoFar: () => { stdout: string; stderr: string };
}

export class StartError extends Error {
  override name = 'StartError';
}

const OUTPUT_CAP = 1 << 20;

/** Collects a stream (capped); `text()` is what has arrived so far, `done` resolves at its end. */
function capture(stream: NodeJS.ReadableStream | null): { done: Promise<string>; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const text = () => Buffer.concat(chunks).toString('utf8');
  const done = new Promise<string>((resolve) => {
    if (!stream) return resolve('');
    stream.on('data', (d: Buffer) => {
      if (size >= OUTPUT_CAP) return;
      chunks.push(d.subarray(0, OUTPUT_CAP - size));
      size += Math.min(d.length, OUTPUT_CAP - size);
    });
    stream.on('end', () => resolve(text()));
    stream.on('close', () => resolve(text()));
    stream.on('error', () => resolve(text()));
  });
  return { done, text };
}

export class Crun {
  private constructor(
    readonly binary: string,
    readonly version: string,
    readonly root: string,
    private readonly legacyView: boolean,
  ) {}

  static async detect(root: string): Promise<Crun> {
    const binary = which('crun');
    if (!binary) throw new InfraError('crun not found in PATH');
    const res = await runCommand(binary, ['--version']);
    const m = /crun version (\S+)/.exec(res.stdout);
    if (res.exitCode !== 0 || !m) throw new InfraError(`${binary} --version failed: ${res.stderr.trim()}`);
    const legacy = needsLegacyView();
    if (legacy && !which('unshare')) throw new InfraError('unshare (util-linux) is needed to run crun on this host');
    return new Crun(binary, m[1]!, root, legacy);
  }

  /** Full argv of a crun command (with the legacy-cgroup wrapper when this host needs it). */
  argv(args: readonly string[]): string[] {
    const crun = [this.binary, '--root', this.root, ...args];
    if (!this.legacyView) return crun;
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'umount /sys/fs/cgroup/unified && exec "$@"', 'ref-crun', ...crun];
  }

  exec(args: readonly string[]): Promise<CommandResult> {
    const [cmd, ...rest] = this.argv(args);
    return runCommand(cmd!, rest);
  }

  async list(): Promise<string[]> {
    if (!existsSync(this.root)) return [];
    const res = await this.exec(['list', '--quiet']);
    if (res.exitCode !== 0) throw new InfraError(`crun list failed: ${res.stderr.trim()}`);
    return res.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** Deletes a container whatever its state; a missing one is not an error. */
  async delete(id: string): Promise<void> {
    const res = await this.exec(['delete', '--force', id]);
    if (res.exitCode !== 0 && !/does not exist|not found|No such file/i.test(res.stderr)) {
      throw new InfraError(`crun delete ${id} failed: ${res.stderr.trim()}`);
    }
  }

  /**
   * Starts the container of `bundle` under a monitor. crun's own messages go to `logFile`, so the
   * app's stderr holds only what the app wrote.
   */
  start(id: string, bundle: string, pidFile: string, logFile: string, pass?: PassFiles): StartedApp {
    const nr = PRCTL_NR[process.arch];
    if (nr === undefined) throw new InfraError(`no prctl syscall number known for ${process.arch}`);
    const files = pass?.files ?? [];
    const preserve = files.length > 0 ? ['--preserve-fds', String(files.length)] : [];
    // --log is a global option: crun's own messages go there, not into the app's stderr.
    const cmd = this.argv(['--log', `file:${logFile}`, 'run', '--detach', ...preserve, '--bundle', bundle, '--pid-file', pidFile, id]);
    const items = files.map((f) => ('file' in f ? `file:${f.file}` : `${f.socket}:${f.port}${f.shared ? ':shared' : ''}`));
    const perl = ['perl', '-e', MONITOR, String(nr), pidFile, String(items.length), ...items, ...cmd];
    // Sockets are made in the pod's network namespace; nsenter with only --net execs perl itself,
    // so the monitor's pid stays the one recorded.
    const argv = pass && files.some((f) => 'socket' in f) ? ['nsenter', `--net=${pass.netns}`, ...perl] : perl;
    const monitor = spawn(argv[0]!, argv.slice(1), {
      // Own process group: a terminal's ^C reaches ref, which then stops the pod in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out = capture(monitor.stdout);
    const err = capture(monitor.stderr);
    const report = monitor.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    let resolveStarted!: (pid: number) => void;
    let resolveExited!: (e: AppExit) => void;
    let fail!: (e: Error) => void;
    const started = new Promise<number>((res, rej) => {
      resolveStarted = res;
      fail = rej;
    });
    const exited = new Promise<AppExit>((res, rej) => {
      resolveExited = res;
      const prevFail = fail;
      fail = (e) => {
        prevFail(e);
        rej(e);
      };
    });
    // Callers await `started` first; keep a failure of `exited` from being reported as unhandled.
    exited.catch(() => undefined);
    const failWithLog = async (why: string) => {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      fail(new StartError(crunMessage(log) || why));
    };
    report.on('data', (d: Buffer) => {
      text += d.toString();
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        const [word, arg] = line.split(' ');
        if (word === 'started') resolveStarted(Number(arg));
        else if (word === 'exited') resolveExited(decodeWaitStatus(Number(arg)));
        // Files to pass that cannot be made are ref's or the host's problem, never the app's.
        else if (word === 'failed' && arg === 'pass') fail(new InfraError(`cannot make the app's socket-activation files: ${line.slice('failed pass '.length)}`));
        else if (word === 'failed') void failWithLog(line);
      }
    });
    monitor.on('error', (err) => fail(new InfraError(`cannot run the app monitor (${argv[0]}): ${messageOf(err)}`)));
    // The report pipe closes when the monitor is gone and everything it wrote has been read.
    // Settling twice is harmless: this only matters when the monitor died without reporting.
    report.on('end', () => void failWithLog('the app monitor ended before the app did'));
    return {
      monitor,
      started,
      exited,
      stdout: out.done,
      stderr: err.done,
      outputSoFar: () => ({ stdout: out.text(), stderr: err.text() }),
    };
  }
}

/** The message of crun's JSON-lines or plain log. */
export function crunMessage(log: string): string {
  const msgs: string[] = [];
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as { msg?: string };
      if (j.msg) msgs.push(j.msg);
    } catch {
      msgs.push(line.trim());
    }
  }
  return msgs.join('; ');
}
