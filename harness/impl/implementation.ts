// What suites call to drive an App Container implementation. Adapters (ref, rkt, …) implement it.
import type { BuiltImage, PodManifest } from '../aci/index.js';
import type { ProbeReport } from '../probe/index.js';

/** Features a test may need; an implementation that lacks one gets a skip with the reason, never a pass. */
export const FEATURES = [
  'pod-manifest', // runs a pod from a full pod manifest
  'multi-app', // more than one app per pod
  'volumes/host',
  'volumes/empty',
  'ports', // pod `ports` forwarded to host ports
  'isolator/resource/memory',
  'isolator/resource/cpu',
  'isolator/os/linux/capabilities-retain-set',
  'isolator/os/linux/capabilities-remove-set',
  'isolator/os/linux/no-new-privileges',
  'isolator/os/linux/oom-score-adj',
  'isolator/os/linux/cpu-shares',
  'isolator/os/linux/seccomp-remove-set',
  'isolator/os/linux/seccomp-retain-set',
  'isolator/os/linux/selinux-context',
  'isolator/os/linux/apparmor-profile',
  'isolator/os/unix/sysctl',
  'isolator/resource/block-bandwidth',
  'isolator/resource/block-iops',
  'isolator/resource/network-bandwidth',
  'event-handlers', // app.eventHandlers pre-start and post-stop
  'app-exit-status', // each app's own exit code comes back
  'metadata-service', // AC_METADATA_URL and its metadata service (ace.md § App Container Metadata Service)
  'socket-activation', // app ports with socketActivated get listening sockets (sd_listen_fds)
  'image-import', // imports an image file on its own and reports the image ID (importImage)
  'image-fetch', // fetches an image by name with discovery and signature verification (fetchImage)
  'reported-manifests', // tells its user the pod manifest it ran and its images' manifests and IDs (PodRequest.inspect)
] as const;

export type Feature = (typeof FEATURES)[number];

export interface PodRequest {
  images: readonly BuiltImage[];
  /** a pod manifest referencing the images by ID; without one each image with an app runs as one app */
  manifest?: PodManifest;
  /** overrides the run's pod timeout */
  timeoutMs?: number;
  /** aborted when the run is interrupted: the adapter stops the pod, cleans up, and throws the reason */
  signal?: AbortSignal;
  /** also ask the implementation what it reports about the pod and its images (feature
   *  'reported-manifests'), before the pod is removed: PodOutcome.reported */
  inspect?: boolean;
}

/** What the implementation tells its user about a pod that ran and its images (e.g. `rkt
 *  cat-manifest`, `rkt image cat-manifest`, `rkt image list`), as it gave it: parsed JSON, not
 *  trusted, for suites to check in full. */
export interface ReportedManifests {
  /** the pod manifest it reports having run */
  podManifest: unknown;
  /** image manifests as reported, each under the image ID the implementation gave or was asked
   *  about (e.g. `rkt image cat-manifest ID`) */
  images: { id: unknown; manifest: unknown }[];
  /** the image IDs it lists in its store, when it has such a list */
  listedImageIds?: unknown[];
}

export interface AppOutcome {
  name: string;
  /** null when the app was killed by a signal or never ran */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** the probe's report when the app printed one */
  report?: ProbeReport;
  /** why there is no report */
  reportMissing?: string;
}

export interface PodOutcome {
  uuid?: string;
  /** refused: the implementation declined to run the pod (e.g. an invalid manifest) */
  status: 'exited' | 'refused';
  refusal?: string;
  apps: AppOutcome[];
  durationMs: number;
  /** what the implementation itself told its user about the run (warnings, notices), apart from
   *  the apps' output; undefined when the adapter has no such channel (ACE-ISO-GEN-003) */
  messages?: string;
  /** when the request asked to inspect a pod that ran */
  reported?: ReportedManifests;
}

/** An image file handed over as it is: it may be hostile (not a tar, paths leaving the rootfs, an
 *  invalid manifest), so nothing about it is trusted but its path. */
export interface ImageFile {
  path: string;
  /** aborted when the run is interrupted: the adapter stops the import, cleans up, and throws the reason */
  signal?: AbortSignal;
}

/** What became of an image import. A hang is not an outcome: the adapter throws a HarnessError
 *  naming the harness timeout, as for pods. */
export type ImportOutcome =
  /** the implementation took the image and reports this image ID */
  | { status: 'imported'; imageId: string; durationMs: number; messages?: string }
  /** it declined the image, saying why (the expected end of a hostile image) */
  | { status: 'refused'; refusal: string; durationMs: number }
  /** it ended abnormally (a crash, an internal error): neither an import nor a clean refusal */
  | { status: 'crashed'; message: string; durationMs: number };

/** Where an implementation's fetch reaches the run's discovery server: commands wrapped to run in
 *  the run's network namespace, where the run's names resolve to the server, and the run's CA. */
export interface DiscoveryNetwork {
  netns: string;
  wrap(argv: readonly string[]): string[];
  /** PEM file of the CA the operator tells the implementation to trust for HTTPS */
  caFile: string;
}

/** One entry of the operator's trust store, set up (fresh for each fetch) before the fetch. */
export type TrustEntry =
  /** an armored public key file trusted for names under `prefix`, or for every name ('root') */
  | { prefix: string | 'root'; keyFile: string }
  /** trust what pubkeys discovery (ac-discovery-pubkeys) of `prefix` finds, as `rkt trust --prefix` does */
  | { prefix: string; discover: true };

export interface FetchRequest {
  /** the image name to discover */
  name: string;
  /** labels asked for (version, os, arch) */
  labels: Record<string, string>;
  /** a key file that is not taken is a harness error; keys discovery finds may be refused (then the fetch is) */
  trust: readonly TrustEntry[];
  network: DiscoveryNetwork;
  /** overrides the run's pod timeout for this fetch (a stalled server is the implementation's to give up on) */
  timeoutMs?: number;
  /** aborted when the run is interrupted: the adapter stops the fetch, cleans up, and throws the reason */
  signal?: AbortSignal;
}

/** What became of a fetch by name. Unlike an import, a hang is an outcome: the faults of a discovery
 *  server are made to tempt one. */
export type FetchOutcome =
  | { status: 'fetched'; imageId: string; durationMs: number; messages?: string }
  | { status: 'refused'; refusal: string; durationMs: number }
  | { status: 'crashed'; message: string; durationMs: number }
  /** still running when the harness's timeout stopped it */
  | { status: 'hung'; durationMs: number; output: string };

export interface ImplementationInfo {
  name: string;
  version: string;
  /** anything else worth recording in reports (flavor, mutant, binary path) */
  details: Record<string, string>;
}

export interface Implementation {
  readonly name: string;
  readonly features: ReadonlySet<Feature>;
  /** false when the implementation cannot run two pods at the same time: its pods then take turns
   *  whatever --jobs says (harness/schedule); default true */
  readonly concurrentPods?: boolean;
  info(): Promise<ImplementationInfo>;
  runPod(request: PodRequest): Promise<PodOutcome>;
  /** Imports one image file into the implementation's store (feature 'image-import'). */
  importImage?(file: ImageFile): Promise<ImportOutcome>;
  /** Fetches an image by name through discovery, verifying its signature with the trust store
   *  given (feature 'image-fetch'); the fetch runs through `request.network.wrap`. */
  fetchImage?(request: FetchRequest): Promise<FetchOutcome>;
  dispose(): Promise<void>;
}
