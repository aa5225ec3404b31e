// A long cell split over several jobs: shard i of n takes the suite files vitest's own --shard
// would give it (vitest's BaseSequencer: files ordered by a hash of their path, cut into n runs),
// passed to that run's npm test as its file filters. merge-reports joins a cell's shards into
// one column (combineShards).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BaseSequencer, type TestSpecification, type Vitest } from 'vitest/node';
import { CLI_OPTIONS } from '../run/config.js';
import { UsageError } from '../run/errors.js';
import { REPO_ROOT } from '../run/paths.js';

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${JSON.stringify(text)}: expected i/n with 1 <= i <= n (e.g. 1/3)`);
  return { index, count };
}

/** The suite files (relative) of shard `shard` among those the file filters select. */
export async function shardFiles(shard: Shard, filters: readonly string[], root = REPO_ROOT): Promise<string[]> {
  const all = readdirSync(join(root, 'suites'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `suites/${f}`)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  if (shard.count > all.length) throw new UsageError(`--shard ${shard.index}/${shard.count}: only ${all.length} suite file(s) selected, fewer than ${shard.count} shards`);
  const sequencer = new BaseSequencer({ config: { root, shard } } as unknown as Vitest);
  const specs = all.map((f) => ({ moduleId: join(root, f), file: f }) as unknown as TestSpecification & { file: string });
  return ((await sequencer.shard(specs)) as unknown as { file: string }[]).map((s) => s.file);
}

/** npm test arguments with their file filters replaced by `files`. */
export function withFiles(args: readonly string[], files: readonly string[]): string[] {
  const { tokens } = parseArgs({ args: [...args], options: CLI_OPTIONS, allowPositionals: true, strict: true, tokens: true });
  const positional = new Set(tokens.filter((t) => t.kind === 'positional').map((t) => t.index));
  return [...args.filter((_, i) => !positional.has(i)), ...files];
}

/** The file filters among npm test arguments. */
export function fileFilters(args: readonly string[]): string[] {
  return parseArgs({ args: [...args], options: CLI_OPTIONS, allowPositionals: true, strict: true }).positionals;
}
