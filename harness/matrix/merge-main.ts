// `npm run merge-reports -- [--out DIR] [--baseline DIR] REPORT_DIR...`: several runs' reports
// (results.json, clauses.json) into matrix.html, matrix.md and matrix.json. Exit 0 written,
// 2 bad input (one line, nothing written).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../run/errors.js';
import { describeWritten, writeMatrix } from './write.js';

export const MERGE_USAGE = `usage: npm run merge-reports -- [options] REPORT_DIR...

  REPORT_DIR          a report directory of npm test (results.json, clauses.json), or a cell
                      directory of npm run matrix (also one whose cell did not run)
  --out DIR           where matrix.html, matrix.md and matrix.json go (default: reports/matrix)
  --baseline DIR      last night's merged report (its matrix.json): lists new failures, fixed
                      clauses and coverage up or down, regressions first
  -h, --help          this text`;

export function main(argv: readonly string[]): number {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { out: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    } catch (err) {
      throw new UsageError((err as Error).message.split('\n')[0]!);
    }
    if (parsed.values.help) {
      console.log(MERGE_USAGE);
      return 0;
    }
    const written = writeMatrix(parsed.positionals, parsed.values.out ?? 'reports/matrix', parsed.values.baseline);
    console.log(describeWritten(written));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`merge-reports: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
