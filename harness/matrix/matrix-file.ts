// A matrix file (YAML or JSON), the alternative to --cells: the cells, and optionally per cell a
// binary, an adapter config and extra flags. Checked with a JSON schema; every problem is one line.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import YAML from 'yaml';
import { UsageError } from '../run/errors.js';
import { parseCell, unique, type Cell } from './cell.js';

export interface MatrixFile {
  cells: (string | { cell: string; implPath?: string; implConfig?: string; args?: string[] })[];
  /** how many cells may run at once (still at most one that its target does not isolate) */
  jobs?: number;
  /** flags or file filters for every cell's npm test */
  args?: string[];
  /** binary per implementation, e.g. { rkt: /opt/rkt/rkt } */
  implPaths?: Record<string, string>;
  implConfigs?: Record<string, string>;
}

const strings = { type: 'array', items: { type: 'string', minLength: 1 } };
const pathMap = { type: 'object', additionalProperties: { type: 'string', minLength: 1 } };
export const MATRIX_FILE_SCHEMA = {
  type: 'object',
  required: ['cells'],
  additionalProperties: false,
  properties: {
    cells: {
      type: 'array',
      minItems: 1,
      items: {
        type: ['string', 'object'],
        if: { type: 'string' },
        then: { minLength: 1 },
        else: {
          required: ['cell'],
          additionalProperties: false,
          properties: { cell: { type: 'string', minLength: 1 }, implPath: { type: 'string', minLength: 1 }, implConfig: { type: 'string', minLength: 1 }, args: strings },
        },
      },
    },
    jobs: { type: 'integer', minimum: 1 },
    args: strings,
    implPaths: pathMap,
    implConfigs: pathMap,
  },
};

const validate = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile<MatrixFile>(MATRIX_FILE_SCHEMA);

/** ajv's first error as "where: what", e.g. "cells/2: unknown key 'implpath'". */
export function schemaError(err: ErrorObject | undefined): string {
  if (!err) return 'does not match the schema';
  const where = err.instancePath ? err.instancePath.slice(1) : 'top level';
  if (err.keyword === 'additionalProperties') return `${where}: unknown key '${(err.params as { additionalProperty: string }).additionalProperty}'`;
  if (err.keyword === 'required') return `${where}: missing '${(err.params as { missingProperty: string }).missingProperty}'`;
  return `${where}: ${err.message ?? 'invalid'}`;
}

export interface MatrixPlan {
  cells: Cell[];
  jobs?: number;
  args: string[];
}

/** Reads and checks a matrix file; relative paths in it are relative to the file. */
export function loadMatrixFile(path: string, implementations: readonly string[]): MatrixPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!validate(data)) throw new UsageError(`${path}: ${schemaError(validate.errors?.[0])}`);
  return planFromFile(data, dirname(resolve(path)), implementations, path);
}

export function planFromFile(file: MatrixFile, baseDir: string, implementations: readonly string[], name = 'matrix file'): MatrixPlan {
  const abs = (p: string) => resolve(baseDir, p);
  const cells = file.cells.map((entry, i) => {
    const spec = typeof entry === 'string' ? { cell: entry } : entry;
    let cell: Cell;
    try {
      cell = parseCell(spec.cell, implementations);
    } catch (err) {
      throw new UsageError(`${name}: cells/${i}: ${(err as Error).message}`);
    }
    const implPath = spec.implPath ?? file.implPaths?.[cell.impl];
    const implConfig = spec.implConfig ?? file.implConfigs?.[cell.impl];
    return { ...cell, implPath: implPath && abs(implPath), implConfig: implConfig && abs(implConfig), args: spec.args ?? [] };
  });
  for (const impl of [...Object.keys(file.implPaths ?? {}), ...Object.keys(file.implConfigs ?? {})]) {
    if (!implementations.includes(impl)) throw new UsageError(`${name}: unknown implementation ${impl} in implPaths/implConfigs (known: ${implementations.join(', ')})`);
  }
  return { cells: unique(cells), jobs: file.jobs, args: file.args ?? [] };
}
