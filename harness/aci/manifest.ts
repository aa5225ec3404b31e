// TypeScript shapes of the appc 0.8.11 image and pod manifests (spec/aci.md, spec/pods.md).
// Field names follow the reference schema's JSON spelling.

export const AC_VERSION = '0.8.11';

export interface NameValue {
  name: string;
  value: string;
}

export interface Isolator {
  name: string;
  value: unknown;
}

export interface EventHandler {
  name: 'pre-start' | 'post-stop';
  exec: string[];
}

export interface MountPoint {
  name: string;
  path: string;
  readOnly?: boolean;
}

export interface Port {
  name: string;
  protocol: string;
  port: number;
  count?: number;
  socketActivated?: boolean;
}

export interface App {
  exec?: string[];
  user: string;
  group: string;
  supplementaryGIDs?: number[];
  eventHandlers?: EventHandler[];
  workingDirectory?: string;
  environment?: NameValue[];
  isolators?: Isolator[];
  mountPoints?: MountPoint[];
  ports?: Port[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

export interface Dependency {
  imageName: string;
  imageID?: string;
  labels?: NameValue[];
  size?: number;
}

export interface ImageManifest {
  acKind: 'ImageManifest';
  acVersion: string;
  name: string;
  labels?: NameValue[];
  app?: App;
  dependencies?: Dependency[];
  pathWhitelist?: string[];
  annotations?: NameValue[];
}

export interface Volume {
  name: string;
  kind: 'empty' | 'host';
  source?: string;
  readOnly?: boolean;
  recursive?: boolean;
  mode?: string;
  uid?: number;
  gid?: number;
}

export interface Mount {
  volume: string;
  path: string;
  appVolume?: Volume;
}

export interface RuntimeImage {
  id: string;
  name?: string;
  labels?: NameValue[];
}

export interface RuntimeApp {
  name: string;
  image: RuntimeImage;
  app?: App;
  readOnlyRootFS?: boolean;
  mounts?: Mount[];
  annotations?: NameValue[];
}

export interface ExposedPort {
  name: string;
  hostPort: number;
  hostIP?: string;
  podPort?: Port;
}

export interface PodManifest {
  acKind: 'PodManifest';
  acVersion: string;
  apps: RuntimeApp[];
  volumes?: Volume[];
  isolators?: Isolator[];
  annotations?: NameValue[];
  ports?: ExposedPort[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

/** The environment PATH every app's main process gets (spec/ace.md, Execution Environment). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
