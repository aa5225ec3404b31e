// The generic adapter's config file (JSON or YAML): how to drive an implementation's CLI. Loaded
// and checked against a JSON schema; every problem is one UsageError line naming the file and field.
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { UsageError } from '../../run/errors.js';
import { FEATURES, type Feature } from '../implementation.js';

/** An argv item; a nested list is a group repeated once per image (e.g. ['--image', '{image}']). */
export type ArgvItem = string | string[];
export type Argv = ArgvItem[];

/** Where one value comes from: exactly one of pointer, run, file, argv. */
export interface Source {
  /** JSON pointer into the result document; `[key=value]` selects the element of a list whose key equals value */
  pointer?: string;
  /** the run command's own exit code, signal, stdout or stderr (single-app pods, or with `match`) */
  run?: 'exitCode' | 'signal' | 'stdout' | 'stderr';
  /** a file's content */
  file?: string;
  /** a command's stdout */
  argv?: Argv;
  /** keep only the lines of the text that match this regular expression (each as its first group when it has one) */
  match?: string;
}

export interface GenericConfig {
  /** reported as the implementation's name */
  name: string;
  /** `{binary}`; --impl-path overrides it; relative paths are relative to the config file */
  binary?: string;
  version?: { argv: Argv; pointer?: string };
  /** added to the environment of every command */
  env?: Record<string, string>;
  /** working directory of every command (default: {work}) */
  cwd?: string;
  features: Feature[];
  /** run once per image before the pod runs (e.g. `rkt fetch`) */
  import?: Argv;
  /** importing one image file on its own, which may be hostile (feature image-import): `{image}`
   *  is the file; the image ID comes from `imageId`; an exit code in `refusedExitCodes` is a
   *  refusal, any other non-zero exit a crash */
  imageImport?: { argv: Argv; imageId: Source; refusedExitCodes?: number[] };
  /** fetching an image by name with discovery and signature verification (feature image-fetch).
   *  Every command runs inside the run's network namespace. `trust` fills a fresh trust store
   *  ({work} is fresh per fetch) before `argv` fetches: `key` trusts {keyFile} for {prefix},
   *  `rootKey` trusts {keyFile} for every name, `discover` trusts what pubkeys discovery of {prefix}
   *  finds. In `argv`: {name}, {labels} (k=v,… sorted), {label} (an item or [group] repeated per
   *  k=v label), {caFile} the run's CA (PEM). Exit codes as for imageImport. */
  imageFetch?: {
    trust: { key: Argv; rootKey?: Argv; discover?: Argv };
    argv: Argv;
    imageId: Source;
    refusedExitCodes?: number[];
  };
  run: {
    /** run a pod from images alone */
    images: Argv;
    /** run a pod from a pod manifest ({podManifest}); needed for the pod-manifest feature */
    podManifest?: Argv;
    /** a file the run writes the pod UUID to; {uuid} is that UUID after the run */
    uuidFile?: string;
  };
  /** the JSON document `pointer` sources read: a file, or a command's stdout */
  result?: { file?: string; argv?: Argv };
  apps: { exitCode: Source; signal?: Source; stdout: Source; stderr: Source };
  /** how a refusal (the implementation declined the pod) is recognized: either condition */
  refused?: { exitCodes?: number[]; pointer?: string; equals?: string | number | boolean; message?: string };
  /** what the implementation tells its user about a run, apart from the apps' output (e.g. `{run: stderr}`) */
  messages?: Source;
  /** what the implementation reports about a pod that ran (feature reported-manifests), read before
   *  cleanup, each as JSON: `podManifest` (e.g. `rkt cat-manifest {uuid}`), `imageManifest` once per
   *  image of the pod ({imageId}, {imageName}; e.g. `rkt image cat-manifest {imageId}`), and
   *  optionally `imageList`, a list of image IDs or of objects with an `id` (e.g. `rkt image list
   *  --format=json`) */
  reported?: { podManifest: Source; imageManifest: Source; imageList?: Source };
  /** the implementation's own status of a pod, kept in the forensics of a pod that hangs (e.g. `rkt status {uuid}`) */
  status?: Argv;
  /** after a timeout or error, before cleanup (e.g. `rkt stop`) */
  stop?: Argv;
  /** always, after every pod (e.g. `rkt rm`, a gc) */
  cleanup?: Argv;
  /** false: the implementation cannot run two pods at the same time, so its pods take turns
   *  whatever --jobs says (default true) */
  concurrentPods?: boolean;
}


/** Placeholders an argv item, path or pointer may use. */
export const PLACEHOLDERS = ['work', 'binary', 'config', 'uuid', 'podManifest', 'image', 'imageId', 'imageName', 'app', 'name', 'labels', 'label', 'prefix', 'keyFile', 'caFile'] as const;
/** The placeholders of a fetch by name (imageFetch), and the ones only it has. */
const FETCH_PLACEHOLDERS = ['work', 'binary', 'config', 'name', 'labels', 'label', 'prefix', 'keyFile', 'caFile'];
const FETCH_ONLY = ['name', 'labels', 'label', 'prefix', 'keyFile', 'caFile'];

const argv = {
  type: 'array',
  minItems: 1,
  items: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
};
const source = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pointer: { type: 'string', pattern: '^/' },
    run: { enum: ['exitCode', 'signal', 'stdout', 'stderr'] },
    file: { type: 'string', minLength: 1 },
    argv,
    match: { type: 'string', minLength: 1 },
  },
};

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'features', 'run', 'apps'],
  properties: {
    name: { type: 'string', minLength: 1 },
    binary: { type: 'string', minLength: 1 },
    version: {
      type: 'object',
      additionalProperties: false,
      required: ['argv'],
      properties: { argv, pointer: { type: 'string', pattern: '^/' } },
    },
    env: { type: 'object', additionalProperties: { type: 'string' } },
    cwd: { type: 'string', minLength: 1 },
    features: { type: 'array', uniqueItems: true, items: { enum: FEATURES } },
    import: argv,
    imageImport: {
      type: 'object',
      additionalProperties: false,
      required: ['argv', 'imageId'],
      properties: {
        argv,
        imageId: source,
        refusedExitCodes: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 255 } },
      },
    },
    imageFetch: {
      type: 'object',
      additionalProperties: false,
      required: ['trust', 'argv', 'imageId'],
      properties: {
        trust: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: argv, rootKey: argv, discover: argv } },
        argv,
        imageId: source,
        refusedExitCodes: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 255 } },
      },
    },
    run: {
      type: 'object',
      additionalProperties: false,
      required: ['images'],
      properties: { images: argv, podManifest: argv, uuidFile: { type: 'string', minLength: 1 } },
    },
    result: {
      type: 'object',
      additionalProperties: false,
      properties: { file: { type: 'string', minLength: 1 }, argv },
    },
    apps: {
      type: 'object',
      additionalProperties: false,
      required: ['exitCode', 'stdout', 'stderr'],
      properties: { exitCode: source, signal: source, stdout: source, stderr: source },
    },
    refused: {
      type: 'object',
      additionalProperties: false,
      properties: {
        exitCodes: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0, maximum: 255 } },
        pointer: { type: 'string', pattern: '^/' },
        equals: { type: ['string', 'number', 'boolean'] },
        message: { type: 'string', pattern: '^/' },
      },
    },
    messages: source,
    reported: {
      type: 'object',
      additionalProperties: false,
      required: ['podManifest', 'imageManifest'],
      properties: { podManifest: source, imageManifest: source, imageList: source },
    },
    status: argv,
    stop: argv,
    cleanup: argv,
    concurrentPods: { type: 'boolean' },
  },
} as const;

// Compiled on first use: every test worker loads this module, few read a config file.
let compiled: ReturnType<Ajv['compile']> | undefined;
const validator = () => (compiled ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true }).compile(configSchema));

function describeError(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field ${JSON.stringify(e.params.additionalProperty)}`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
  if (e.keyword === 'anyOf') return `${where}: must be a string or a list of strings`;
  if (e.keyword === 'type' && e.instancePath === '') return `/: must be a mapping of the config's fields (name, features, run, apps, …: see examples/impl-config/), not a ${e.data === null ? 'null' : Array.isArray(e.data) ? 'list' : typeof e.data}`;
  return `${where}: ${e.message ?? 'invalid'}`;
}

/** A loaded config with where it came from. */
export interface LoadedConfig {
  config: GenericConfig;
  /** absolute path of the file */
  path: string;
  /** its directory: {config}, and the base of a relative `binary` */
  dir: string;
}

/** Reads, parses and checks a config file; throws a one-line UsageError prefixed with the file name. */
export function loadGenericConfig(path: string): LoadedConfig {
  const abs = resolve(path);
  const name = basename(abs);
  const fail = (msg: string): never => {
    throw new UsageError(`${name}: ${msg}`);
  };
  let text = '';
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    fail(`cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // YAML is a superset of JSON, so one parser reads both; its errors carry line and column.
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) fail(`not valid ${/\.json$/i.test(abs) ? 'JSON' : 'YAML'}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const data: unknown = doc.toJS();
  const validate = validator();
  if (!validate(data)) fail(describeError(validate.errors![0]!));
  const config = data as GenericConfig;
  checkSemantics(config, fail);
  return { config, path: abs, dir: dirname(abs) };
}

/** Rules the schema cannot say, each pointing at the field. */
function checkSemantics(c: GenericConfig, fail: (msg: string) => never): void {
  const sources: [string, Source | undefined][] = [
    ['/apps/exitCode', c.apps.exitCode],
    ['/apps/signal', c.apps.signal],
    ['/apps/stdout', c.apps.stdout],
    ['/apps/stderr', c.apps.stderr],
    ['/messages', c.messages],
    ['/imageImport/imageId', c.imageImport?.imageId],
    ['/imageFetch/imageId', c.imageFetch?.imageId],
    ['/reported/podManifest', c.reported?.podManifest],
    ['/reported/imageManifest', c.reported?.imageManifest],
    ['/reported/imageList', c.reported?.imageList],
  ];
  for (const [where, s] of sources) {
    if (!s) continue;
    const kinds = (['pointer', 'run', 'file', 'argv'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) fail(`${where}: needs exactly one of pointer, run, file, argv`);
    if (s.pointer !== undefined && !c.result) fail(`${where}/pointer: needs a /result document to point into`);
    if (s.match !== undefined) {
      try {
        new RegExp(s.match);
      } catch {
        fail(`${where}/match: not a regular expression`);
      }
    }
  }
  if (c.result && (c.result.file === undefined) === (c.result.argv === undefined)) fail('/result: needs exactly one of file, argv');
  if (c.refused?.pointer !== undefined && !c.result) fail('/refused/pointer: needs a /result document to point into');
  if (c.refused?.pointer !== undefined && c.refused.equals === undefined) fail('/refused: pointer needs equals');
  if (c.imageImport?.imageId.pointer !== undefined) fail('/imageImport/imageId/pointer: an import has no result document (use run, file or argv)');
  if (c.imageImport && /\{(imageId|imageName|uuid|podManifest|app)\}/.test(JSON.stringify(c.imageImport))) {
    fail('/imageImport: only {image}, {work}, {binary} and {config} have values during an import');
  }
  if (c.features.includes('image-import') && !c.imageImport) fail('/imageImport: needed when features include image-import');
  if (c.imageFetch?.imageId.pointer !== undefined) fail('/imageFetch/imageId/pointer: a fetch has no result document (use run, file or argv)');
  if (c.features.includes('image-fetch') && !c.imageFetch) fail('/imageFetch: needed when features include image-fetch');
  if (c.imageFetch) {
    for (const m of JSON.stringify(c.imageFetch).matchAll(/\{([A-Za-z]+)\}/g)) {
      if (!FETCH_PLACEHOLDERS.includes(m[1]!)) fail(`/imageFetch: {${m[1]}} has no value during a fetch (only {${FETCH_PLACEHOLDERS.join('}, {')}})`);
    }
    if (/\{(prefix|keyFile)\}/.test(JSON.stringify([c.imageFetch.argv, c.imageFetch.imageId]))) fail('/imageFetch: {prefix} and {keyFile} have values only in /imageFetch/trust');
  }
  const outside = JSON.stringify({ ...c, imageFetch: undefined });
  for (const p of FETCH_ONLY) if (outside.includes(`{${p}}`)) fail(`{${p}} has a value only in /imageFetch`);
  if (c.features.includes('reported-manifests') && !c.reported) fail('/reported: needed when features include reported-manifests');
  if (c.reported && /\{(app|image)\}/.test(JSON.stringify(c.reported))) fail('/reported: {app} and {image} have no value there ({imageId} and {imageName} do in imageManifest)');
  if (c.features.includes('pod-manifest') && !c.run.podManifest) fail('/run/podManifest: needed when features include pod-manifest');
  // Unknown {placeholders} are typos: say so now rather than pass them to the implementation.
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\{([A-Za-z]+)\}/g)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) fail(`${where}: unknown placeholder {${m[1]}} (known: ${PLACEHOLDERS.join(', ')})`);
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}/${i}`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'env') walk(x, `${where}/${k}`);
  };
  walk(c, '');
}
