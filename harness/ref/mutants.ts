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
  { name: 'no-dev-shm', clauses: ['ACE-LNX-012'], description: 'does not mount a tmpfs at /dev/shm' },
  { name: 'writable-rootfs', clauses: ['ACE-FS-002'], description: 'ignores readOnlyRootFS: every rootfs is read-write' },
  { name: 'drop-stderr', clauses: ['ACE-LOG-002'], description: "loses the apps' stderr" },
  { name: 'ignore-cap-remove', clauses: ['ACE-ISO-CAPRM-001'], description: 'ignores os/linux/capabilities-remove-set' },
  { name: 'ignore-cap-retain', clauses: ['ACE-ISO-CAPRT-001'], description: 'ignores os/linux/capabilities-retain-set' },
  { name: 'ignore-nnp', clauses: ['ACE-ISO-NNP-001'], description: 'ignores os/linux/no-new-privileges' },
  { name: 'ignore-memory-limit', clauses: ['ACE-ISO-MEM-002'], description: 'ignores the resource/memory limit' },
  { name: 'ignore-cpu-limit', clauses: ['ACE-ISO-CPU-002'], description: 'ignores the resource/cpu limit' },
  {
    name: 'deps-reverse-order',
    clauses: ['ACE-FS-006', 'ACE-FS-009'],
    description: 'extracts the dependencies of an image in reverse order, so the earlier one wins',
  },
  {
    name: 'merge-app',
    clauses: ['POD-APP-006'],
    description: "merges the image's app environment into the pod's app instead of replacing it",
  },
  { name: 'drop-last-app', clauses: ['POD-CTX-008'], description: 'never launches the last app of a pod of several apps' },
  {
    name: 'accept-missing-source',
    // It makes the missing source on the host to mount it, which ACE-VOL-009 advises against too.
    clauses: ['ACE-VOL-010', 'ACE-VOL-009'],
    description: 'mounts an empty directory in place of a host volume source that does not exist',
  },
  { name: 'bad-uuid', clauses: ['ACE-UUID-001'], description: 'gives pods a UUID that is not in RFC 4122 form' },
  { name: 'separate-pid', clauses: ['POD-CTX-001'], description: 'gives each app its own PID namespace' },
  { name: 'separate-ipc', clauses: ['POD-CTX-003'], description: 'gives each app its own IPC namespace' },
  { name: 'separate-uts', clauses: ['POD-CTX-004'], description: 'gives each app its own UTS namespace (and so hostname)' },
  { name: 'no-loopback', clauses: ['ACE-NET-001', 'ACE-NET-003'], description: 'leaves the loopback interface of the pod down (so without an address)' },
  { name: 'empty-volume-mode', clauses: ['POD-VOL-010'], description: "ignores an empty volume's mode (always 0755)" },
  { name: 'no-container-env', clauses: ['ACE-ENV-004'], description: 'does not set the "container" variable' },
  {
    name: 'skip-pre-start',
    clauses: ['ACE-LIFE-001', 'ACE-LIFE-005', 'ACE-ENV-005'],
    description: 'never runs pre-start handlers',
  },
  { name: 'skip-post-stop', clauses: ['ACE-LIFE-002'], description: 'never runs post-stop handlers' },
  { name: 'handler-env-bare', clauses: ['ACE-ENV-005'], description: 'does not give event handlers AC_APP_NAME' },
  { name: 'ignore-oom-score-adj', clauses: ['ACE-ISO-OOM-002'], description: 'ignores os/linux/oom-score-adj' },
  { name: 'ignore-cpu-shares', clauses: ['ACE-ISO-CPUSH-002'], description: 'ignores os/linux/cpu-shares' },
  { name: 'ignore-pod-isolators', clauses: ['ACE-ISO-GEN-001', 'POD-ISO-001'], description: 'ignores the isolators of the pod manifest' },
  { name: 'always-recursive', clauses: ['POD-VOL-009'], description: 'bind-mounts host volumes recursively even with recursive: false' },
  {
    name: 'mds-wrong-annotations',
    clauses: ['MDS-POD-001'],
    description: 'the metadata service serves the pod annotations with the first value changed',
  },
  {
    name: 'mds-verify-accepts-anything',
    clauses: ['MDS-HMAC-005'],
    description: 'the metadata service verify endpoint accepts every signature',
  },
  { name: 'mds-wrong-image-id', clauses: ['MDS-APP-006'], description: 'the metadata service serves a wrong image ID (last digit changed)' },
  { name: 'no-metadata-url', clauses: ['ACE-ENV-003'], description: 'does not set AC_METADATA_URL' },
  {
    name: 'ports-not-forwarded',
    clauses: ['POD-PORT-001', 'POD-PORT-002', 'POD-PORT-006', 'ACI-APP-016'],
    description: 'does not listen on the host ports of the pod',
  },
  { name: 'port-range-first-only', clauses: ['ACI-APP-016'], description: 'forwards only the first port of a range (ignores count)' },
  { name: 'ignore-seccomp', clauses: ['ACE-ISO-SECRM-004', 'ACE-ISO-SECRM-007'], description: 'ignores os/linux/seccomp-remove-set' },
  {
    name: 'ignore-seccomp-retain',
    clauses: ['ACE-ISO-SECRT-006', 'ACE-ISO-SECRT-007', 'ACE-ISO-SECRT-008', 'ACE-ISO-SECRT-009'],
    description: 'ignores os/linux/seccomp-retain-set',
  },
  {
    name: 'seccomp-errno-always',
    clauses: ['ACE-ISO-SECRM-008', 'ACE-ISO-SECRT-008'],
    description: 'blocked calls of a seccomp set without errno fail with EPERM instead of killing the app',
  },
  {
    name: 'seccomp-wildcards-literal',
    clauses: ['ACE-ISO-SECRM-002', 'ACE-ISO-SECRM-015', 'ACE-ISO-SECRT-002', 'ACE-ISO-SECRT-014'],
    description: 'treats @appc.io/all and @appc.io/empty as plain names that mask nothing',
  },
  { name: 'ignore-sysctl', clauses: ['ACE-ISO-SYSCTL-003'], description: 'ignores the os/unix/sysctl isolator of the pod' },
  { name: 'ignore-apparmor', clauses: ['ACE-ISO-AA-006'], description: 'ignores os/linux/apparmor-profile (runs without the profile)' },
  { name: 'ignore-block-limits', clauses: ['ACE-ISO-BLKBW-002', 'ACE-ISO-BLKIO-002'], description: 'ignores resource/block-bandwidth and resource/block-iops' },
  { name: 'silent-isolators', clauses: ['ACE-ISO-GEN-003'], description: 'ignores unknown isolators without telling the user' },
  { name: 'keep-empty-volumes', clauses: ['POD-VOL-005'], description: "keeps a pod's empty volumes in the temp dir after the pod is gone" },
  { name: 'unresolved-mounts', clauses: ['POD-REIFY-002'], description: 'serves the pod manifest without the volumes it made for unfulfilled mountPoints' },
  { name: 'ignore-network-bandwidth', clauses: ['ACE-ISO-NETBW-002'], description: 'ignores resource/network-bandwidth (the pod link is not shaped)' },
  { name: 'shape-loopback', clauses: ['ACE-ISO-NETBW-003'], description: "applies resource/network-bandwidth to the pod's loopback too" },
  { name: 'cpu-request-ignored', clauses: ['ACE-ISO-CPU-003', 'ACE-ISO-RES-002'], description: 'gives resource/cpu requests no CPU share' },
  { name: 'mds-verify-own-pod-only', clauses: ['MDS-HMAC-006'], description: 'the metadata service verifies only signatures of its own pod' },
  { name: 'forward-all-app-ports', clauses: ['POD-PORT-001'], description: 'also forwards app ports no pod port names, at their own number' },
  { name: 'host-pid', clauses: ['POD-CTX-001'], description: "runs apps in the host's PID namespace" },
  { name: 'ignore-path-whitelist', clauses: ['ACE-FS-005', 'ACI-MAN-005'], description: 'ignores pathWhitelist' },
  { name: 'ignore-app-volume', clauses: ['POD-APP-010'], description: 'looks a mount up by volume name even when it carries an inline appVolume' },
  {
    name: 'accept-invalid-manifest',
    // The rules only the pod manifest validator enforces (others ref also checks where it uses the value).
    clauses: [
      'POD-MAN-001', 'POD-MAN-002', 'POD-APP-011', 'POD-VOL-012', 'POD-ANN-001', 'POD-PORT-003', 'POD-PORT-005', 'POD-USR-001',
      'POD-USR-003', 'ACE-ISO-MEM-001', 'ACE-ISO-CPU-001', 'ACE-ISO-BLKBW-001', 'ACE-ISO-BLKIO-001', 'ACE-ISO-SYSCTL-002',
      'ACE-ISO-OOM-001', 'ACE-ISO-CPUSH-001', 'ACE-ISO-NETBW-001',
    ],
    description: 'runs pod manifests the schema rejects',
  },
  { name: 'no-socket-activation', clauses: ['ACE-PORT-003', 'ACE-PORT-004'], description: 'ignores socketActivated: passes no sockets and no LISTEN_FDS' },
  { name: 'listen-pid-one', clauses: ['ACE-PORT-003'], description: 'sets LISTEN_PID=1 (as crun does) instead of the pid of the app, which is not PID 1 of the pod' },
  {
    name: 'sockets-to-every-app',
    clauses: ['ACE-PORT-003', 'ACE-PORT-004'],
    description: "passes the sockets of every socket-activated port of the pod to every app, not only each app's own",
  },
  {
    name: 'undeclared-sysctl-silent',
    clauses: ['ACE-ISO-GEN-003'],
    description: "the adapter declares os/unix/sysctl unsupported, and ref ignores the pod's sysctl isolator without a word",
  },
  {
    name: 'hidden-cgroups-cpu-limit',
    clauses: ['ACE-ISO-CPU-002'],
    description: 'mounts no cgroup file system in the apps (they cannot read their limits) and ignores the resource/cpu limit',
  },
  {
    name: 'hidden-cgroups-cpu-shares',
    clauses: ['ACE-ISO-CPUSH-002', 'ACE-ISO-CPU-003', 'ACE-ISO-RES-002'],
    description: 'mounts no cgroup file system in the apps (they cannot read their limits) and ignores os/linux/cpu-shares and resource/cpu requests',
  },
  {
    name: 'hidden-cgroups-pod-memory',
    clauses: ['ACE-ISO-GEN-001', 'POD-ISO-001', 'ACE-ISO-MEM-002'],
    description: 'mounts no cgroup file system in the apps (they cannot read their limits) and ignores the pod-level resource/memory limit',
  },
  { name: 'nnp-non-root', clauses: ['ACE-ISO-NNP-002'], description: 'sets no_new_privs by default for every non-root app' },
  { name: 'caps-non-root', clauses: ['ACE-ISO-CAPRM-002'], description: 'gives a non-root app without capability isolators an empty bounding set' },
  {
    name: 'lost-default-cwd',
    clauses: ['ACE-EXEC-001', 'ACE-WD-002'],
    description: "refuses an exec[0] without '/' (as rkt does) and starts an app without workingDirectory in /dev",
  },
  {
    name: 'lax-archive-layout',
    clauses: ['ACI-ARCH-003', 'ACI-ARCH-004', 'ACI-ARCH-005', 'ACI-LAYOUT-001'],
    description: 'takes archives with duplicate entries, stray top-level names, a manifest that is not a file or no rootfs',
  },
  { name: 'accept-escaping-entries', clauses: ['ACI-ARCH-005'], description: "skips archive entries and hard links that leave the rootfs instead of refusing the image" },
  { name: 'follow-symlinks-in-rootfs', clauses: ['ACE-FS-007', 'ACE-FS-008'], description: 'extracts an entry below a symlink to where the link points (kept inside the rootfs) instead of replacing the link' },
  { name: 'id-of-archive-file', clauses: ['ACI-ID-001'], description: 'reports the sha512 of the archive file as given (compressed) as the image ID' },
  {
    name: 'accept-invalid-image-manifest',
    clauses: [
      'ACI-MAN-010', 'ACI-MAN-011', 'ACI-MAN-012', 'TYPES-ACKIND-001', 'TYPES-ACVER-003', 'TYPES-ACID-001', 'TYPES-ACID-002', 'ACI-LBL-001',
      'ACI-LBL-002', 'ACI-LBL-003', 'ACI-LBL-006', 'ACI-APP-003', 'ACI-APP-005', 'ACI-APP-006', 'ACI-APP-008', 'ACI-APP-009', 'ACI-APP-010',
      'TYPES-ISO-001', 'ACI-APP-011', 'TYPES-ACNAME-001', 'TYPES-ACNAME-002', 'ACI-APP-012', 'ACI-APP-013', 'ACI-APP-015', 'ACI-APP-016',
      'ACI-APP-018', 'ACI-APP-019', 'ACI-PWL-001', 'ACI-ANN-001', 'ACI-ANN-004', 'TYPES-TS-001', 'ACI-ANN-005',
    ],
    description: 'runs images whose manifest the schema rejects',
  },
  { name: 'ignore-os-arch', clauses: ['ACI-LBL-005'], description: 'runs images built for another os or arch' },
  { name: 'only-current-ac-version', clauses: ['TYPES-ACVER-002', 'TYPES-ACVER-004'], description: 'refuses images of any acVersion but 0.8.11' },
  { name: 'merge-dependency-app', clauses: ['ACI-MAN-004'], description: "adds the environment of the dependencies' app sections to the app" },
  { name: 'ignore-dependency-id', clauses: ['ACI-DEPM-002'], description: "takes a dependency of the right name whatever its image ID, even when the manifest pins one" },
  { name: 'ignore-dependency-labels', clauses: ['ACI-DEPM-001'], description: "takes the first image of a dependency's name, whatever labels the dependency asks for" },
  {
    name: 'lax-dependency-reference',
    clauses: ['ACI-DEP-001', 'ACI-DEP-002', 'ACI-DEP-003', 'TYPES-IMGID-002'],
    description: 'takes dependency entries the schema forbids and resolves them loosely: by image ID alone, by an ID prefix or a sha256 digest',
  },
  { name: 'ignore-dependency-size', clauses: ['ACI-DEPM-003'], description: "takes a dependency whatever size the manifest states for it" },
  { name: 'user-labels-as-env', clauses: ['ACI-APP-020'], description: "exports the app's userLabels and userAnnotations as environment variables" },
  { name: 'empty-whitelist-strict', clauses: ['ACI-PWL-002'], description: "reads an empty pathWhitelist as one listing only the app's program" },
  { name: 'lenient-tar-reader', clauses: ['ACI-ARCH-002'], description: 'takes the entries of a tar that breaks off in the middle, as far as they go' },
  { name: 'short-image-id', clauses: ['ACI-ID-002'], description: 'reports image IDs cut to 64 hex digits' },
  // SHOULD / SHOULD NOT clauses of §5–§8 (issue #16, part 6)
  { name: 'mount-by-mountpoint-name', clauses: ['POD-APP-009'], description: "fulfils a mountPoint with the pod volume of the mountPoint's name, not with the mount at its path" },
  { name: 'copy-up-volumes', clauses: ['ACE-VOL-003'], description: 'copies what the image has at a mount target into the empty volume, so it stays visible' },
  { name: 'refuse-file-target', clauses: ['ACE-VOL-004'], description: 'refuses a pod whose image has a file where a volume goes, instead of replacing it' },
  { name: 'silent-masking', clauses: ['ACE-VOL-005'], description: 'hides image files under a volume without telling the user' },
  { name: 'accept-nested-targets', clauses: ['ACE-VOL-006'], description: 'mounts nested volume targets (/a and /a/b) instead of refusing them' },
  { name: 'create-missing-source', clauses: ['ACE-VOL-009'], description: 'creates a missing host volume source on the host, then refuses the pod' },
  { name: 'follow-symlinked-source', clauses: ['ACE-VOL-013', 'ACE-VOL-014'], description: 'mounts where a symlinked host volume source points instead of refusing it' },
  { name: 'follow-symlinked-parent', clauses: ['ACE-VOL-015'], description: 'accepts a host volume source below a symlinked directory, following the link' },
  { name: 'hosts-without-localhost', clauses: ['ACE-LNX-014'], description: 'gives an image without /etc/hosts one without a localhost entry' },
  { name: 'rewrite-etc-hosts', clauses: ['ACE-LNX-015'], description: "writes its own /etc/hosts over the one the image ships" },
  { name: 'posix-errno-only', clauses: ['ACE-ISO-SECRM-010', 'ACE-ISO-SECRT-010'], description: 'refuses seccomp isolators naming a Linux-specific errno (ENOKEY, EHWPOISON)' },
  { name: 'ignore-image-isolators', clauses: ['ACE-ISO-GEN-005'], description: "applies the isolators a pod manifest lists for an app, never those of the image manifest's own app section" },
  { name: 'mds-token-prefix', clauses: ['MDS-GEN-006'], description: "answers a metadata request whose token merely starts with a pod's token" },
  // What the implementation serves, checked in full (issue #16, part 5)
  { name: 'mds-bad-ac-version', clauses: ['MDS-POD-003'], description: 'serves the reified pod manifest with acVersion 1.0.0, which is no appc release' },
  // What ref reports to its user about a pod (its result file), checked in full
  { name: 'reported-short-image-id', clauses: ['TYPES-IMGID-001'], description: 'reports the pod manifest it ran with image IDs cut to 64 hex digits' },
  { name: 'reported-bad-ac-version', clauses: ['TYPES-ACVER-001'], description: "reports its images' manifests with acVersion 1.0.0, which is no appc release" },
  { name: 'reported-without-labels', clauses: ['ACI-ID-001'], description: "reports an image's manifest without its labels: not the manifest of the image that ID names" },
  { name: 'skip-signature-check', clauses: ['DISC-VAL-001', 'ACI-ARCH-013'], description: 'fetches images by name without fetching or verifying their signature' },
  {
    name: 'trust-discovered-keys',
    clauses: ['ACI-ARCH-013'],
    description: "also verifies with the keys the image's own site announces (ac-discovery-pubkeys), which the operator never trusted",
  },
  { name: 'ignore-name-mismatch', clauses: ['DISC-VAL-002', 'ACI-MAN-014'], description: 'takes a fetched image whatever its manifest name' },
  { name: 'ignore-label-mismatch', clauses: ['DISC-VAL-002', 'DISC-VAL-003'], description: 'takes a fetched image whatever its labels' },
  { name: 'missing-label-matches', clauses: ['DISC-VAL-003'], description: 'takes a fetched image that lacks a requested label' },
  { name: 'no-prefix-walk', clauses: ['DISC-WALK-001'], description: 'tries discovery at the full name only, never at its parents' },
  { name: 'ignore-prefix-match', clauses: ['DISC-MATCH-001'], description: "uses ac-discovery tags whatever their prefix-match" },
  { name: 'ignore-redirects', clauses: ['DISC-REDIR-001'], description: 'takes a redirect answer as it is instead of following it' },
  { name: 'http-fallback', clauses: ['DISC-URL-001'], description: 'retries over plain HTTP when HTTPS fails, and takes http:// templates' },
  { name: 'ignore-http-status', clauses: ['DISC-TPL-002'], description: 'takes the body of an image or signature answer whatever its HTTP status' },
  { name: 'strict-labels', clauses: ['DISC-VAL-003'], description: 'refuses a fetched image that has a label not asked for' },
  { name: 'trust-any-certificate', clauses: ['DISC-URL-001'], description: 'takes any TLS certificate (as an insecure-TLS option would)' },
  { name: 'templates-without-ext', clauses: ['DISC-TPL-001'], description: 'uses an ac-discovery template without {ext} (image and signature at one URL)' },
  { name: 'binary-signatures-only', clauses: ['ACI-ARCH-010'], description: 'reads signatures as binary OpenPGP packets, so an ASCII-armoured one never verifies' },
  { name: 'drop-xattrs', clauses: ['ACI-ARCH-006'], description: "extracts images without their files' extended attributes" },
  { name: 'template-pubkeys', clauses: ['DISC-TPL-003'], description: 'renders ac-discovery-pubkeys URLs as templates instead of fetching them as given' },
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
  | 'exec-no-path-lookup'
  | 'no-dev-shm'
  | 'writable-rootfs'
  | 'drop-stderr'
  | 'ignore-cap-remove'
  | 'ignore-cap-retain'
  | 'ignore-nnp'
  | 'ignore-memory-limit'
  | 'ignore-cpu-limit'
  | 'deps-reverse-order'
  | 'merge-app'
  | 'drop-last-app'
  | 'accept-missing-source'
  | 'bad-uuid'
  | 'separate-pid'
  | 'separate-ipc'
  | 'separate-uts'
  | 'no-loopback'
  | 'empty-volume-mode'
  | 'no-container-env'
  | 'skip-pre-start'
  | 'skip-post-stop'
  | 'handler-env-bare'
  | 'ignore-oom-score-adj'
  | 'ignore-cpu-shares'
  | 'ignore-pod-isolators'
  | 'always-recursive'
  | 'mds-wrong-annotations'
  | 'mds-verify-accepts-anything'
  | 'mds-wrong-image-id'
  | 'no-metadata-url'
  | 'ports-not-forwarded'
  | 'port-range-first-only'
  | 'ignore-seccomp'
  | 'ignore-seccomp-retain'
  | 'seccomp-errno-always'
  | 'seccomp-wildcards-literal'
  | 'ignore-sysctl'
  | 'ignore-apparmor'
  | 'ignore-block-limits'
  | 'silent-isolators'
  | 'keep-empty-volumes'
  | 'unresolved-mounts'
  | 'ignore-network-bandwidth'
  | 'shape-loopback'
  | 'cpu-request-ignored'
  | 'mds-verify-own-pod-only'
  | 'forward-all-app-ports'
  | 'host-pid'
  | 'ignore-path-whitelist'
  | 'ignore-app-volume'
  | 'accept-invalid-manifest'
  | 'no-socket-activation'
  | 'listen-pid-one'
  | 'sockets-to-every-app'
  | 'undeclared-sysctl-silent'
  | 'hidden-cgroups-cpu-limit'
  | 'hidden-cgroups-cpu-shares'
  | 'hidden-cgroups-pod-memory'
  | 'nnp-non-root'
  | 'caps-non-root'
  | 'lost-default-cwd'
  | 'lax-archive-layout'
  | 'accept-escaping-entries'
  | 'follow-symlinks-in-rootfs'
  | 'id-of-archive-file'
  | 'short-image-id'
  | 'lenient-tar-reader'
  | 'accept-invalid-image-manifest'
  | 'ignore-os-arch'
  | 'only-current-ac-version'
  | 'merge-dependency-app'
  | 'ignore-dependency-id'
  | 'ignore-dependency-labels'
  | 'lax-dependency-reference'
  | 'user-labels-as-env'
  | 'ignore-dependency-size'
  | 'empty-whitelist-strict'
  | 'mount-by-mountpoint-name'
  | 'copy-up-volumes'
  | 'refuse-file-target'
  | 'silent-masking'
  | 'accept-nested-targets'
  | 'create-missing-source'
  | 'follow-symlinked-source'
  | 'follow-symlinked-parent'
  | 'hosts-without-localhost'
  | 'rewrite-etc-hosts'
  | 'posix-errno-only'
  | 'mds-token-prefix'
  | 'ignore-image-isolators'
  | 'mds-bad-ac-version'
  | 'reported-short-image-id'
  | 'reported-bad-ac-version'
  | 'reported-without-labels'
  | 'skip-signature-check'
  | 'trust-discovered-keys'
  | 'ignore-name-mismatch'
  | 'ignore-label-mismatch'
  | 'missing-label-matches'
  | 'no-prefix-walk'
  | 'ignore-prefix-match'
  | 'ignore-redirects'
  | 'http-fallback'
  | 'ignore-http-status'
  | 'template-pubkeys'
  | 'drop-xattrs'
  | 'binary-signatures-only'
  | 'templates-without-ext'
  | 'strict-labels'
  | 'trust-any-certificate';

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
