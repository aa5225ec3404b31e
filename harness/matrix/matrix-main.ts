// `npm run matrix -- --cells ref@host,ref@qemu [options] [-- npm test flags and file filters]`:
// runs each cell as its own `npm test` into REPORT/cells/<cell>/, then merges them into
// REPORT/matrix.html, matrix.md and matrix.json.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { IMPLEMENTATION_NAMES } from '../impl/registry.js';
import { parseCli } from '../run/config.js';
import { UsageError } from '../run/errors.js';
import { parseCells, type Cell } from './cell.js';
import { loadMatrixFile } from './matrix-file.js';
import { runCells } from './runner.js';
import { fileFilters, parseShard, shardFiles, withFiles } from './shard.js';
import { describeWritten, loadBaseline, writeMatrix } from './write.js';

export const MATRIX_USAGE = `usage: npm run matrix -- (--cells LIST | --file FILE) [options] [-- npm test flags and file filters]

  --cells LIST        cells, comma-separated: impl[:flavor]@target[/guest], e.g.
                      ref@host,ref@qemu,ref@qemu/bullseye,rkt:fly@host,rkt:host@qemu/systemd
                      (a guest: a profile, a release or profile/release)
  --file FILE         a matrix file (YAML or JSON; see docs/matrix.md) instead of --cells
  --out DIR           where the cells' reports and the merged report go (default: reports/matrix)
  --jobs N            cells at once (default 1). Whatever N, at most one cell whose target does
                      not isolate it (host, container) runs at a time: qemu cells each have a VM
  --impl-path IMPL=PATH   binary of an implementation for its cells (e.g. rkt=/opt/rkt/rkt); repeatable
  --impl-config IMPL=FILE adapter config of an implementation (generic=examples/impl-config/ref.yaml)
  --baseline DIR      last night's merged report: the merge lists regressions first
  --shard i/n         run part i of n of the suite files in every cell (vitest's --shard split),
                      into cells/<cell>.shard-i-of-n/; merge-reports joins a cell's shards
  -h, --help          this text

After --, flags and file filters for every cell's npm test (-t PATTERN, --clause, --level,
--pod-timeout, suites/x): the cell sets --impl, --flavor, --target, --vm-profile, --guest-release and --report-dir.
A cell that cannot run here (no rkt binary, no VM tools, an unknown target or guest, a failed
preflight) is reported as not run with the reason; the other cells go on.
Exit: 0 every cell that ran passed, 1 conformance failures in a cell, 2 bad input, 3 harness
errors in a cell or no cell ran.`;

const CELL_OWNED = new Set(['--impl', '--impl-path', '--impl-config', '--flavor', '--target', '--vm-profile', '--guest-release', '--vm-image', '--report-dir', '--list', '--explain', '--help', '-h']);

/** Flags for every cell: the cell owns where and what runs; the rest must be flags npm test knows. */
export function checkCommon(common: readonly string[]): void {
  for (const a of common) {
    const name = a.split('=')[0]!;
    if (CELL_OWNED.has(name)) {
      throw new UsageError(`${name} after --: not for a matrix cell (the cell sets implementation, flavor, target and guest; --impl-path/--impl-config IMPL=…, --out and the matrix itself do the rest)`);
    }
  }
  parseCli(common);
}

function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`${flag} ${JSON.stringify(item)}: expected IMPL=PATH`);
    if (!IMPLEMENTATION_NAMES.includes(m[1]!)) throw new UsageError(`${flag} ${item}: unknown implementation ${m[1]} (known: ${IMPLEMENTATION_NAMES.join(', ')})`);
    out[m[1]!] = resolve(m[2]!);
  }
  return out;
}

export interface MatrixRequest {
  cells: Cell[];
  jobs: number;
  common: string[];
  outDir: string;
  baseline?: string;
  /** "i/n": run shard i of n of the suite files in every cell */
  shard?: string;
}

export async function parseMatrixArgs(argv: readonly string[]): Promise<MatrixRequest | 'help'> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const common = dash < 0 ? [] : argv.slice(dash + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...own],
      strict: true,
      allowPositionals: false,
      options: {
        cells: { type: 'string' },
        file: { type: 'string' },
        out: { type: 'string' },
        jobs: { type: 'string' },
        'impl-path': { type: 'string', multiple: true },
        'impl-config': { type: 'string', multiple: true },
        baseline: { type: 'string' },
        shard: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. (To specify a positional|This command does not take positional).*$/, ' (npm test flags and file filters go after --)'));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if ((v.cells === undefined) === (v.file === undefined)) throw new UsageError('give the cells: --cells LIST or --file FILE (one of them)');
  const plan = v.file !== undefined ? loadMatrixFile(v.file, IMPLEMENTATION_NAMES) : { cells: parseCells(v.cells!, IMPLEMENTATION_NAMES), args: [] as string[], jobs: undefined };
  const implPaths = pairs(v['impl-path'], '--impl-path');
  const implConfigs = pairs(v['impl-config'], '--impl-config');
  const cells = plan.cells.map((c) => ({ ...c, implPath: implPaths[c.impl] ?? c.implPath, implConfig: implConfigs[c.impl] ?? c.implConfig }));
  let jobs = plan.jobs ?? 1;
  if (v.jobs !== undefined) {
    jobs = Number(v.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a whole number of at least 1`);
  }
  let allCommon = [...plan.args, ...common];
  checkCommon(allCommon);
  const shard = v.shard !== undefined ? parseShard(v.shard) : undefined;
  if (shard) allCommon = withFiles(allCommon, await shardFiles(shard, fileFilters(allCommon)));
  for (const c of cells) if (c.args.length > 0) checkCommon(c.args);
  if (v.baseline !== undefined) loadBaseline(resolve(v.baseline));
  return { cells, jobs, common: allCommon, outDir: resolve(v.out ?? 'reports/matrix'), baseline: v.baseline, ...(shard ? { shard: `${shard.index}/${shard.count}` } : {}) };
}

async function main(argv: readonly string[]): Promise<number> {
  let req: MatrixRequest | 'help';
  try {
    req = await parseMatrixArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`matrix: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (req === 'help') {
    console.log(MATRIX_USAGE);
    return 0;
  }
  const started = performance.now();
  console.log(`matrix: ${req.cells.length} cells, ${req.jobs} at once; reports in ${req.outDir}`);
  const { records, dirs, interrupted } = await runCells(req.cells, { outDir: req.outDir, jobs: req.jobs, common: req.common, shard: req.shard });
  const written = writeMatrix(dirs, req.outDir, req.baseline);
  console.log(describeWritten(written));
  console.log(`matrix wall time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (interrupted) return interrupted === 'SIGINT' ? 130 : 143;
  const ran = records.filter((r) => r.status === 'ran');
  if (ran.length === 0 || records.some((r) => r.status === 'error') || ran.some((r) => r.exitCode === 3)) return 3;
  return ran.some((r) => r.exitCode === 1) ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
