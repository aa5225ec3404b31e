// The probe's one JSON document (fixtures/probe/probe.c). Bump PROBE_PROTOCOL when the shape changes.

export const PROBE_PROTOCOL = 1;

export interface FileObservation {
  path: string;
  exists: boolean;
  /** errno name when lstat failed for another reason than ENOENT */
  error?: string;
  type?: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  /** permission bits incl. setuid/setgid/sticky, as a number (e.g. 0o755 → 493) */
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** seconds since the epoch */
  mtime?: number;
  /** device major/minor for char and block devices */
  rdev?: { major: number; minor: number };
  linkTarget?: string;
  /** extended attributes of the entry itself, by name; values that are not text are left out */
  xattrs?: Record<string, string>;
  /** regular files up to 64 KiB, as text when valid UTF-8 without NUL, else omitted */
  content?: string;
  /** directory entries (names only, sorted), for directories */
  entries?: string[];
}

export interface WriteObservation {
  path: string;
  ok: boolean;
  /** errno name, e.g. "EROFS", "EACCES" */
  error?: string;
}

export interface MountInfo {
  id: number;
  parentId: number;
  majorMinor: string;
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

export interface Capabilities {
  /** 64-bit masks as lowercase hex strings, as in /proc/self/status (e.g. "00000000a80425fb") */
  effective: string;
  permitted: string;
  inheritable: string;
  bounding: string;
  ambient: string;
}

export interface NetInterface {
  name: string;
  up: boolean;
  loopback: boolean;
  addresses: string[];
}

/** An fd above stderr that was open when the probe started (what the executor passed or left open). */
export interface InheritedFd {
  fd: number;
  /** absent when fstat failed (see error) */
  type?: 'socket' | 'file' | 'dir' | 'fifo' | 'char' | 'block' | 'symlink' | 'other';
  /** sockets: SO_TYPE */
  socketType?: 'stream' | 'dgram' | 'seqpacket' | 'raw' | 'other';
  /** sockets: the family of getsockname's address */
  family?: 'inet' | 'inet6' | 'unix' | 'other';
  /** sockets: SO_ACCEPTCONN */
  listening?: boolean;
  /** inet and inet6 sockets: the bound address and port (getsockname) */
  address?: string;
  port?: number;
  /** with accept-fds=: whether a connection came and got the answer line (listening stream sockets of LISTEN_FDS) */
  answered?: boolean;
  error?: string;
}

/** Socket activation as the app received it (sd_listen_fds): the variables verbatim, null when unset. */
export interface SocketActivation {
  listenFds: string | null;
  listenPid: string | null;
  listenFdNames: string | null;
  /** every open fd above 2 at the probe's start, in fd order */
  fds: InheritedFd[];
}

export interface HttpFetch {
  url: string;
  ok: boolean;
  status?: number;
  contentType?: string;
  body?: string;
  error?: string;
}

/** One TCP transfer of serve=, sink= or pull=, for throughput seen from inside. */
export interface Transfer {
  op: 'serve' | 'sink' | 'pull';
  /** the port (serve, sink) or IPv4:PORT (pull) */
  peer: string;
  bytes: number;
  /** serve: accept to the reader's close; sink and pull: first byte to EOF */
  ms: number;
  /** errno name when the transfer broke off */
  error?: string;
}

export interface CgroupV2View {
  /** from the "0::" line of /proc/self/cgroup */
  path: string;
  /** where the probe found that cgroup inside the container */
  dir: string;
  memoryMax: string | null;
  cpuMax: string | null;
  cpuWeight: string | null;
  ioMax: string | null;
  ancestors: { dir: string; memoryMax: string | null }[];
}

export interface ProbeReport {
  probe: 'appc-probe';
  protocol: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  groups: number[];
  hostname: string;
  namespaces: Record<'pid' | 'net' | 'ipc' | 'uts' | 'mnt' | 'user' | 'cgroup', string | null>;
  mounts: MountInfo[];
  capabilities: Capabilities;
  noNewPrivs: number;
  /** the Seccomp field of /proc/self/status: 0 none, 1 strict, 2 filter */
  seccomp: number;
  oomScoreAdj: number;
  /** raw lines of /proc/self/cgroup */
  cgroups: string[];
  /** limits read from the cgroup filesystem visible inside, null where not readable */
  cgroupLimits: {
    memoryLimitBytes: number | null;
    cpuQuotaUs: number | null;
    cpuPeriodUs: number | null;
    cpuShares: number | null;
  };
  /**
   * The app's own cgroup v2 directory, its files raw (null: unreadable), and its parents' memory.max
   * up to the mount point, nearest first; null when the app sees no cgroup2 hierarchy holding its
   * cgroup. An addition to protocol 1: absent from reports of a probe built before it. Parsed by
   * cgroup.ts.
   */
  cgroupV2?: CgroupV2View | null;
  interfaces: NetInterface[];
  /** an addition to protocol 1: absent from reports of a probe built before it (and in old recordings) */
  activation?: SocketActivation;
  files: FileObservation[];
  writes: WriteObservation[];
  fetches: HttpFetch[];
  transfers: Transfer[];
  /** observations that could not be made, as "what: errno" strings */
  errors: string[];
}
