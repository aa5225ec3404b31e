// JSON schemas of the appc 0.8.11 image and pod manifests. Rules that JSON Schema cannot say
// (uniqueness of names, os/arch pairs, isolator values by name) live in validate.ts.

/** AC Identifier as the reference code enforces it (schema/types/acidentifier.go): allowed
 *  characters plus no separator at either end. */
export const AC_IDENTIFIER = '^[a-z0-9]([a-z0-9._~/-]*[a-z0-9])?$';
/** AC Name (spec/types.md). */
export const AC_NAME = '^[a-z0-9]+(-[a-z0-9]+)*$';
/** SemVer 2.0.0 (https://semver.org), used for AC Version. */
export const SEMVER =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-((0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(\\.(0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(\\+([0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*))?$';
export const IMAGE_ID = '^sha512-[0-9a-f]+$';
export const ENV_NAME = '^[A-Za-z_][A-Za-z_0-9.-]*$';

const nameValue = (namePattern: string) => ({
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'value'],
    properties: { name: { type: 'string', pattern: namePattern }, value: { type: 'string' } },
  },
});
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const isolators = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'value'],
    properties: { name: { type: 'string', pattern: AC_IDENTIFIER }, value: {} },
  },
};
const port = {
  type: 'object',
  required: ['name', 'protocol', 'port'],
  properties: {
    name: { type: 'string', pattern: AC_NAME },
    protocol: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    count: { type: 'integer', minimum: 1 },
    socketActivated: { type: 'boolean' },
  },
};
const absolutePath = { type: 'string', pattern: '^/' };

export const appSchema = {
  type: 'object',
  required: ['user', 'group'],
  properties: {
    exec: { type: 'array', items: { type: 'string' } },
    user: { type: 'string', minLength: 1 },
    group: { type: 'string', minLength: 1 },
    supplementaryGIDs: { type: 'array', items: { type: 'integer', minimum: 0 } },
    eventHandlers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'exec'],
        properties: {
          name: { enum: ['pre-start', 'post-stop'] },
          exec: { type: 'array', minItems: 1, items: { type: 'string' } },
        },
      },
    },
    workingDirectory: absolutePath,
    environment: nameValue(ENV_NAME),
    isolators,
    mountPoints: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'path'],
        properties: { name: { type: 'string', pattern: AC_NAME }, path: absolutePath, readOnly: { type: 'boolean' } },
      },
    },
    ports: { type: 'array', items: port },
    userAnnotations: stringMap,
    userLabels: stringMap,
  },
};

export const imageManifestSchema = {
  $id: 'appc:ImageManifest',
  type: 'object',
  required: ['acKind', 'acVersion', 'name'],
  properties: {
    acKind: { const: 'ImageManifest' },
    acVersion: { type: 'string', pattern: SEMVER },
    name: { type: 'string', pattern: AC_IDENTIFIER },
    labels: nameValue(AC_IDENTIFIER),
    app: appSchema,
    dependencies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['imageName'],
        properties: {
          imageName: { type: 'string', pattern: AC_IDENTIFIER },
          imageID: { type: 'string', pattern: IMAGE_ID },
          labels: nameValue(AC_IDENTIFIER),
          size: { type: 'integer', minimum: 0 },
        },
      },
    },
    pathWhitelist: { type: 'array', items: absolutePath },
    annotations: nameValue(AC_IDENTIFIER),
  },
};

const volume = {
  type: 'object',
  required: ['name', 'kind'],
  properties: {
    name: { type: 'string', pattern: AC_NAME },
    kind: { enum: ['empty', 'host'] },
    source: absolutePath,
    readOnly: { type: 'boolean' },
    recursive: { type: 'boolean' },
    mode: { type: 'string', pattern: '^0?[0-7]{3,4}$' },
    uid: { type: 'integer', minimum: 0 },
    gid: { type: 'integer', minimum: 0 },
  },
  allOf: [
    {
      if: { properties: { kind: { const: 'host' } } },
      then: { required: ['source'], not: { anyOf: [{ required: ['mode'] }, { required: ['uid'] }, { required: ['gid'] }] } },
    },
    { if: { properties: { kind: { const: 'empty' } } }, then: { not: { required: ['source'] } } },
  ],
};

export const podManifestSchema = {
  $id: 'appc:PodManifest',
  type: 'object',
  required: ['acKind', 'acVersion', 'apps'],
  properties: {
    acKind: { const: 'PodManifest' },
    acVersion: { type: 'string', pattern: SEMVER },
    apps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'image'],
        properties: {
          name: { type: 'string', pattern: AC_NAME },
          image: {
            type: 'object',
            required: ['id'],
            properties: {
              id: { type: 'string', pattern: IMAGE_ID },
              name: { type: 'string', pattern: AC_IDENTIFIER },
              labels: nameValue(AC_IDENTIFIER),
            },
          },
          app: appSchema,
          readOnlyRootFS: { type: 'boolean' },
          mounts: {
            type: 'array',
            items: {
              type: 'object',
              required: ['volume', 'path'],
              properties: { volume: { type: 'string', pattern: AC_NAME }, path: absolutePath, appVolume: volume },
            },
          },
          annotations: nameValue(AC_IDENTIFIER),
        },
      },
    },
    volumes: { type: 'array', items: volume },
    isolators,
    annotations: nameValue(AC_IDENTIFIER),
    ports: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'hostPort'],
        properties: {
          name: { type: 'string', pattern: AC_NAME },
          hostPort: { type: 'integer', minimum: 0, maximum: 65535 },
          hostIP: { type: 'string', format: 'ipv4' },
          podPort: port,
        },
      },
    },
    userAnnotations: stringMap,
    userLabels: stringMap,
  },
};
