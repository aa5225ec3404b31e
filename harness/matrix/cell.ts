// A matrix cell: one implementation (and flavor) on one target (and guest), written
// impl[:flavor]@target[/guest] — "ref@host", "rkt:fly@host", "rkt:host@qemu/systemd". A guest is a
// profile, a release or both: "ref@qemu/bullseye", "rkt:host@qemu/systemd/bullseye".
import { FLAVORS } from '../run/config.js';
import { UsageError } from '../run/errors.js';

export interface Cell {
  /** as written by the user, normalised: the column's name in the merged report */
  label: string;
  impl: string;
  flavor?: string;
  target: string;
  /** profile and/or release, "/"-separated as written (targets.ts reads the words) */
  guest?: string;
  /** binary of the implementation (--impl-path of its run) */
  implPath?: string;
  /** --impl-config of its run (generic) */
  implConfig?: string;
  /** more flags or file filters for this cell's npm test */
  args: string[];
}

const NAME = '[a-z0-9][a-z0-9-]*';
const CELL_RE = new RegExp(`^(${NAME})(?::(${NAME}))?@(${NAME})(?:/(${NAME}(?:/${NAME})?))?$`);

/** Parses one cell; a malformed one or an unknown implementation or flavor is bad input. An
 *  unknown target is not: that cell is reported as not run (targets.ts). */
export function parseCell(text: string, implementations: readonly string[]): Cell {
  const s = text.trim();
  const m = CELL_RE.exec(s);
  if (!m) throw new UsageError(`cell ${JSON.stringify(text)}: expected impl[:flavor]@target[/guest], e.g. ref@host, rkt:fly@host, rkt:host@qemu/systemd, ref@qemu/bullseye`);
  const [, impl, flavor, target, guest] = m as unknown as [string, string, string | undefined, string, string | undefined];
  if (!implementations.includes(impl)) throw new UsageError(`cell ${s}: unknown implementation ${impl} (known: ${implementations.join(', ')})`);
  if (flavor !== undefined && !(FLAVORS as readonly string[]).includes(flavor)) {
    throw new UsageError(`cell ${s}: unknown flavor ${flavor} (known: ${FLAVORS.join(', ')})`);
  }
  return { label: s, impl, flavor, target, guest, args: [] };
}

/** A comma-separated list of cells (--cells); each cell once. */
export function parseCells(list: string, implementations: readonly string[]): Cell[] {
  const parts = list.split(',').map((x) => x.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--cells ${JSON.stringify(list)}: an empty cell (a stray comma?)`);
  return unique(parts.map((p) => parseCell(p, implementations)));
}

export function unique(cells: Cell[]): Cell[] {
  const seen = new Set<string>();
  for (const c of cells) {
    if (seen.has(c.label)) throw new UsageError(`cell ${c.label} is listed twice`);
    seen.add(c.label);
  }
  return cells;
}

/** The cell's report directory name: "rkt:host@qemu/systemd/bullseye" → "rkt.host@qemu~systemd~bullseye" (no ':' or '/', so a relative link and a file name both work). */
export function cellDirName(label: string): string {
  return label.replace(/:/g, '.').replace(/\//g, '~');
}
