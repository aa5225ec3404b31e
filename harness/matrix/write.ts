// Merge report directories into matrix.json, matrix.md and matrix.html in one directory.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { UsageError } from '../run/errors.js';
import { SPEC_VERSION } from '../spec/index.js';
import { joinShards } from './combine.js';
import { checkComparable, loadReportDir, readJson } from './inputs.js';
import { schemaError } from './matrix-file.js';
import { mergeReports, regressionCount, type MatrixDocument } from './merge.js';
import { renderMatrixHtml } from './render-html.js';
import { renderMatrixMarkdown } from './render-md.js';

const validBaseline = new Ajv({ strict: false }).compile({
  type: 'object',
  required: ['tool', 'kind', 'version', 'specVersion', 'generatedAt', 'cells', 'clauses'],
  properties: {
    tool: { const: 'appc-conformance' },
    kind: { const: 'matrix' },
    version: { const: 1 },
    specVersion: { type: 'string' },
    cells: { type: 'array', items: { type: 'object', required: ['label', 'status'] } },
    clauses: { type: 'array', items: { type: 'object', required: ['id', 'verdicts'] } },
  },
});

/** A baseline: a directory holding matrix.json (last night's merged report), or that file. */
export function loadBaseline(path: string): MatrixDocument {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'matrix.json') : path;
  if (!existsSync(file)) throw new UsageError(`--baseline ${path}: no matrix.json there`);
  const data = readJson(file);
  if (!validBaseline(data)) throw new UsageError(`${file}: not a matrix.json of appc-conformance (${schemaError(validBaseline.errors?.[0])})`);
  const doc = data as unknown as MatrixDocument;
  if (doc.specVersion !== SPEC_VERSION) throw new UsageError(`${file}: a matrix of appc ${doc.specVersion}; these reports are of appc ${SPEC_VERSION}`);
  return doc;
}

export interface Written {
  doc: MatrixDocument;
  files: string[];
}

/** Reads and checks every input (and the baseline) before writing anything. */
export function writeMatrix(dirs: readonly string[], outDir: string, baselinePath?: string, now?: Date): Written {
  if (dirs.length === 0) throw new UsageError('no report directory given');
  const inputs = joinShards(dirs.map((d) => loadReportDir(resolve(d))));
  checkComparable(inputs);
  const baseline = baselinePath !== undefined ? loadBaseline(resolve(baselinePath)) : undefined;
  const out = resolve(outDir);
  const doc = mergeReports(inputs, out, { baseline, now });
  mkdirSync(out, { recursive: true });
  const files = [join(out, 'matrix.json'), join(out, 'matrix.md'), join(out, 'matrix.html')];
  writeFileSync(files[0]!, JSON.stringify(doc, null, 1) + '\n');
  writeFileSync(files[1]!, renderMatrixMarkdown(doc));
  writeFileSync(files[2]!, renderMatrixHtml(doc));
  return { doc, files };
}

export function describeWritten({ doc, files }: Written): string {
  const ran = doc.cells.filter((c) => c.status === 'ran').length;
  const lines = [`matrix: ${doc.cells.length} cells, ${ran} ran, ${doc.cells.length - ran} not run or broken; disagreements: ${doc.disagreements.implementations.length} between implementations, ${doc.disagreements.targets.length} between targets`];
  if (doc.baseline) lines.push(`since the baseline of ${doc.baseline.generatedAt}: ${regressionCount(doc.baseline)} regression(s) (${doc.baseline.newFailures.length} new failures), ${doc.baseline.fixed.length} fixed`);
  lines.push(`wrote ${files.join(', ')}`);
  return lines.join('\n');
}
