// Validation of image and pod manifests: the JSON schemas (schema.ts) plus the rules across
// fields that the reference schema code enforces. Errors name the offending field.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { REPO_ROOT } from '../run/paths.js';
import type { ImageManifest, Isolator, NameValue, PodManifest } from './manifest.js';
import { imageManifestSchema, podManifestSchema } from './schema.js';

export class ManifestError extends Error {
  override name = 'ManifestError';
}


/**
 * The compiled schemas. Compiling them costs a process about 200 ms, and ref is one process per pod:
 * the validators are kept as standalone code in the build's cache, keyed by the schemas, and loaded
 * from there by later processes. Where the cache cannot be written (a read-only share), each process
 * compiles its own.
 */
let compiled: { image: ValidateFunction; pod: ValidateFunction } | undefined;
const VALIDATOR_CACHE = join(REPO_ROOT, 'dist', '.cache');

function validators(): { image: ValidateFunction; pod: ValidateFunction } {
  if (compiled) return compiled;
  const key = createHash('sha256').update(JSON.stringify([imageManifestSchema, podManifestSchema, AJV_CACHE_VERSION])).digest('hex').slice(0, 16);
  const file = join(VALIDATOR_CACHE, `manifest-validators-${key}.cjs`);
  const require = createRequire(import.meta.url);
  try {
    compiled = require(file) as { image: ValidateFunction; pod: ValidateFunction };
    return compiled;
  } catch {
    // not cached yet
  }
  // Loaded only to compile: a process that finds the cache never loads ajv's compiler.
  const { Ajv: AjvClass, _ } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;
  const ajv = new AjvClass({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  });
  addFormats(ajv);
  ajv.addSchema(imageManifestSchema, 'image').addSchema(podManifestSchema, 'pod');
  compiled = { image: ajv.getSchema('image')!, pod: ajv.getSchema('pod')! };
  try {
    mkdirSync(VALIDATOR_CACHE, { recursive: true }); // below dist/, which exists
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, standaloneCode(ajv, { image: 'image', pod: 'pod' }));
    renameSync(tmp, file);
  } catch {
    // a read-only build dir: compile per process
  }
  return compiled;
}
/** Bumped when the options above change. */
const AJV_CACHE_VERSION = 1;

/** Linux/FreeBSD/Darwin os/arch pairs accepted by the reference code (schema/types/labels.go). */
export const VALID_OS_ARCH: Record<string, string[]> = {
  linux: ['amd64', 'i386', 'aarch64', 'aarch64_be', 'armv6l', 'armv7l', 'armv7b', 'ppc64', 'ppc64le', 's390x'],
  freebsd: ['amd64', 'i386', 'arm'],
  darwin: ['x86_64', 'i386'],
};

/** The appc arch label (spec/types.md, labels.go spelling) of a Node.js arch, by default this machine's. */
export function appcArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: 'i386', arm64: 'aarch64', arm: 'armv7l', ppc64: 'ppc64le', s390x: 's390x' };
  const arch = map[nodeArch];
  if (!arch) throw new Error(`no appc arch label for ${nodeArch}`);
  return arch;
}

/** Resource quantity (appc isolators): a number or a string like "500m", "128Mi", "1G". */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/;

function describe(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'invalid';
  const where = first.instancePath || '/';
  const extra = first.keyword === 'enum' || first.keyword === 'const' ? ` ${JSON.stringify(first.params)}` : '';
  return `${where}: ${first.message ?? 'invalid'}${extra}`;
}

function run(fn: ValidateFunction, doc: unknown, what: string): string[] {
  return fn(doc) ? [] : (fn.errors ?? []).map((e) => `${what} ${describe([e])}`);
}

function duplicates(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.filter((n) => (seen.has(n) ? true : (seen.add(n), false)));
}

function uniqueNames(list: readonly NameValue[] | undefined, where: string): string[] {
  return duplicates((list ?? []).map((e) => e.name)).map((n) => `${where}: duplicate name ${JSON.stringify(n)}`);
}

// RFC 3339 date-time, `T` between date and time (types.md § Timestamps; the schema code parses with Go's RFC3339).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The annotations aci.md § annotations defines a format for: created, homepage, documentation. */
function knownAnnotationProblems(list: readonly NameValue[] | undefined, where: string): string[] {
  const out: string[] = [];
  for (const { name, value } of list ?? []) {
    if (name === 'created' && (!RFC3339.test(value) || Number.isNaN(Date.parse(value)))) out.push(`${where}: created is not an RFC 3339 timestamp: ${JSON.stringify(value)}`);
    if (name === 'homepage' || name === 'documentation') {
      let scheme = '';
      try {
        scheme = new URL(value).protocol;
      } catch {
        // not a URL at all
      }
      if (scheme !== 'http:' && scheme !== 'https:') out.push(`${where}: ${name} is not an http or https URL: ${JSON.stringify(value)}`);
    }
  }
  return out;
}

const isQuantity = (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && QUANTITY.test(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyStrings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '');

/** The only wildcards in the spec's own @appc.io/ scope (ace.md § Linux Isolators, seccomp). */
export const APPC_SECCOMP_WILDCARDS = ['@appc.io/all', '@appc.io/empty'];

/** Isolators of which a list may hold one only (spec prose; the schema code's multipleAllowed()). */
const SINGLE_ISOLATORS = new Set([
  'os/linux/seccomp-retain-set',
  'os/linux/seccomp-remove-set',
  'os/linux/selinux-context',
  'os/linux/apparmor-profile',
  'os/linux/oom-score-adj',
  'os/linux/cpu-shares',
  'os/unix/sysctl',
]);

/** Value shape of each isolator the spec (and its schema code) defines; undefined = unknown name. */
export function isolatorProblem(iso: Isolator): string | undefined {
  const v = iso.value;
  switch (iso.name) {
    case 'resource/memory':
    case 'resource/cpu':
      if (!isObject(v)) return 'value must be an object';
      if (v.default === true) return '"default" must be false';
      if (v.request === undefined && v.limit === undefined) return 'needs "request" or "limit"';
      if (v.request !== undefined && !isQuantity(v.request)) return '"request" is not a quantity';
      if (v.limit !== undefined && !isQuantity(v.limit)) return '"limit" is not a quantity';
      return undefined;
    case 'resource/block-bandwidth':
    case 'resource/block-iops':
    case 'resource/network-bandwidth':
      if (!isObject(v)) return 'value must be an object';
      if (v.default !== true) return '"default" must be true';
      if (v.request !== undefined) return '"request" is not allowed';
      return isQuantity(v.limit) ? undefined : '"limit" must be a quantity';
    case 'os/linux/capabilities-retain-set':
    case 'os/linux/capabilities-remove-set':
      return isObject(v) && nonEmptyStrings(v.set) ? undefined : '"set" must be a non-empty list of names';
    case 'os/linux/seccomp-retain-set':
    case 'os/linux/seccomp-remove-set': {
      if (!isObject(v) || !nonEmptyStrings(v.set)) return '"set" must be a non-empty list of names';
      const reserved = (v.set as string[]).find((n) => n.startsWith('@appc.io/') && !APPC_SECCOMP_WILDCARDS.includes(n));
      if (reserved) return `${reserved} is not a wildcard the spec defines (@appc.io/ is reserved)`;
      return v.errno === undefined || v.errno === '' || (typeof v.errno === 'string' && /^E[A-Z0-9]+$/.test(v.errno))
        ? undefined
        : '"errno" must be an errno name';
    }
    case 'os/linux/no-new-privileges':
      return typeof v === 'boolean' ? undefined : 'value must be a boolean';
    case 'os/linux/selinux-context':
      return isObject(v) &&
        ['user', 'role', 'type', 'level'].every((k) => typeof v[k] === 'string' && v[k] !== '') &&
        ['user', 'role', 'type'].every((k) => !(v[k] as string).includes(':'))
        ? undefined
        : 'needs non-empty user, role, type, level (no ":" in the first three)';
    case 'os/linux/apparmor-profile':
      return isObject(v) && typeof v.profile === 'string' && v.profile !== '' ? undefined : '"profile" must be non-empty';
    case 'os/linux/oom-score-adj':
      return Number.isInteger(v) && (v as number) >= -1000 && (v as number) <= 1000 ? undefined : 'must be an integer in -1000..1000';
    case 'os/linux/cpu-shares':
      return Number.isInteger(v) && (v as number) >= 2 && (v as number) <= 262144 ? undefined : 'must be an integer in 2..262144';
    case 'os/unix/sysctl':
      return isObject(v) && Object.values(v).every((s) => typeof s === 'string') ? undefined : 'must map names to strings';
    default:
      return undefined; // unknown isolators may be ignored by an executor (spec/ace.md § Isolators)
  }
}

function isolatorProblems(list: readonly Isolator[] | undefined, where: string): string[] {
  const out: string[] = [];
  (list ?? []).forEach((iso, i) => {
    const problem = isolatorProblem(iso);
    if (problem) out.push(`${where}/${i} (${iso.name}): ${problem}`);
  });
  const names = (list ?? []).map((i) => i.name);
  for (const dup of new Set(duplicates(names))) {
    if (SINGLE_ISOLATORS.has(dup)) out.push(`${where}: at most one ${dup}`);
  }
  if (names.includes('os/linux/seccomp-retain-set') && names.includes('os/linux/seccomp-remove-set')) {
    out.push(`${where}: seccomp retain and remove sets are exclusive`);
  }
  if (names.includes('os/linux/capabilities-retain-set') && names.includes('os/linux/capabilities-remove-set')) {
    out.push(`${where}: capabilities retain and remove sets are exclusive`);
  }
  return out;
}

function appProblems(app: ImageManifest['app'], where: string): string[] {
  if (!app) return [];
  return [
    ...uniqueNames(app.environment, `${where}/environment`),
    ...duplicates((app.mountPoints ?? []).map((m) => m.name)).map((n) => `${where}/mountPoints: duplicate name "${n}"`),
    ...duplicates((app.ports ?? []).map((p) => p.name)).map((n) => `${where}/ports: duplicate name "${n}"`),
    ...duplicates((app.eventHandlers ?? []).map((h) => h.name)).map((n) => `${where}/eventHandlers: duplicate "${n}"`),
    ...(app.ports ?? [])
      .filter((p) => p.port + (p.count ?? 1) - 1 > 65535)
      .map((p) => `${where}/ports: ${p.name} range ends above 65535`),
    ...isolatorProblems(app.isolators, `${where}/isolators`),
  ];
}

/** All problems of an image manifest; empty when valid. */
export function imageManifestProblems(doc: unknown): string[] {
  const schemaErrors = run(validators().image, doc, 'image manifest');
  if (schemaErrors.length > 0) return schemaErrors;
  const m = doc as ImageManifest;
  const labels = new Map((m.labels ?? []).map((l) => [l.name, l.value]));
  const out = [
    ...uniqueNames(m.labels, 'image manifest /labels'),
    // ACI-DEP-003: a dependency's labels follow the rules of the image's own labels.
    ...(m.dependencies ?? []).flatMap((d, i) => uniqueNames(d.labels, `image manifest /dependencies/${i}/labels`)),
    ...uniqueNames(m.annotations, 'image manifest /annotations'),
    ...knownAnnotationProblems(m.annotations, 'image manifest /annotations'),
  ];
  if (labels.has('name')) out.push('image manifest /labels: "name" is not a label');
  const os = labels.get('os');
  const arch = labels.get('arch');
  if (os !== undefined && !VALID_OS_ARCH[os]) out.push(`image manifest /labels: unknown os "${os}"`);
  if (os !== undefined && arch !== undefined && VALID_OS_ARCH[os] && !VALID_OS_ARCH[os].includes(arch)) {
    out.push(`image manifest /labels: arch "${arch}" is not valid for os "${os}"`);
  }
  out.push(...appProblems(m.app, 'image manifest /app'));
  return out;
}

/** All problems of a pod manifest; empty when valid. */
export function podManifestProblems(doc: unknown): string[] {
  const schemaErrors = run(validators().pod, doc, 'pod manifest');
  if (schemaErrors.length > 0) return schemaErrors;
  const p = doc as PodManifest;
  const volumes = new Set((p.volumes ?? []).map((v) => v.name));
  const out = [
    ...duplicates(p.apps.map((a) => a.name)).map((n) => `pod manifest /apps: duplicate app name "${n}"`),
    ...duplicates((p.volumes ?? []).map((v) => v.name)).map((n) => `pod manifest /volumes: duplicate name "${n}"`),
    ...uniqueNames(p.annotations, 'pod manifest /annotations'),
    ...isolatorProblems(p.isolators, 'pod manifest /isolators'),
    ...duplicates((p.ports ?? []).map((x) => x.name)).map((n) => `pod manifest /ports: duplicate name "${n}"`),
  ];
  p.apps.forEach((a, i) => {
    out.push(...appProblems(a.app, `pod manifest /apps/${i}/app`), ...uniqueNames(a.annotations, `pod manifest /apps/${i}/annotations`));
    (a.mounts ?? []).forEach((mnt, j) => {
      if (!mnt.appVolume && !volumes.has(mnt.volume)) out.push(`pod manifest /apps/${i}/mounts/${j}: no volume named "${mnt.volume}"`);
    });
  });
  return out;
}

export function assertValidImageManifest(doc: unknown): asserts doc is ImageManifest {
  const problems = imageManifestProblems(doc);
  if (problems.length > 0) throw new ManifestError(problems.join('; '));
}

export function assertValidPodManifest(doc: unknown): asserts doc is PodManifest {
  const problems = podManifestProblems(doc);
  if (problems.length > 0) throw new ManifestError(problems.join('; '));
}
