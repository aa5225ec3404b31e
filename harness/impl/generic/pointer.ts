// JSON pointers (RFC 6901) with one extension for lists of records: a segment `[key=value]`
// selects the element whose `key` equals `value`, e.g. /apps/[name=web]/exitCode.

export type Resolved = { ok: true; value: unknown } | { ok: false; problem: string };

export function resolvePointer(doc: unknown, pointer: string): Resolved {
  if (pointer === '') return { ok: true, value: doc };
  if (!pointer.startsWith('/')) return { ok: false, problem: `${pointer}: a pointer starts with /` };
  let here: unknown = doc;
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += `/${raw}`;
    const select = /^\[([^=\]]+)=(.*)\]$/.exec(seg);
    if (select) {
      const [, key, value] = select;
      if (!Array.isArray(here)) return { ok: false, problem: `${path}: not a list` };
      const found = here.find((el) => el !== null && typeof el === 'object' && String((el as Record<string, unknown>)[key!]) === value);
      if (found === undefined) return { ok: false, problem: `${path}: no element with ${key}=${value}` };
      here = found;
    } else if (Array.isArray(here)) {
      const i = /^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : NaN;
      if (!(i < here.length)) return { ok: false, problem: `${path}: no such index` };
      here = here[i];
    } else if (here !== null && typeof here === 'object' && Object.hasOwn(here, seg)) {
      here = (here as Record<string, unknown>)[seg];
    } else {
      return { ok: false, problem: `${path}: no such field` };
    }
  }
  return { ok: true, value: here };
}
