// Where a clause stands in the appc spec: the heading of spec/<file>.md at v0.8.11 that holds it,
// as a link a reader can open (GitHub's heading anchors), and the spec's own sentence for it.
// Reports show both next to every clause ID, with the registry's words for what was checked.
import sections from './spec-sections.json' with { type: 'json' };
import type { Clause } from './clause.js';

export interface SpecLocation {
  /** the spec file in the spec repository, e.g. "spec/ace.md" (null for the suite's own FN- clauses) */
  file: string | null;
  /** the heading the link goes to, or null when it goes to the file (or nowhere) */
  heading: string | null;
  /** the link, or null for the suite's own clauses */
  url: string | null;
  /** "ace.md § Volume Setup" */
  label: string;
}

const FILES = sections.files as Record<string, string[]>;
const FALLBACK = sections.fallback as Record<string, string>;
export const SPEC_REF: string = sections.ref;

/** GitHub's anchor for a Markdown heading: lower case, punctuation other than - and _ dropped,
 *  each space a hyphen (so "os/linux/cpu" → "oslinuxcpu", "App Container Pods (pods)" → "app-container-pods-pods"). */
export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The spec file a registry `source` names: "ace.md" → "spec/ace.md"; Go files keep their path. */
function specFile(source: string): string | null {
  if (source === 'suite') return null;
  if (FILES[`spec/${source}`]) return `spec/${source}`;
  if (/^schema\/.+\.go$/.test(source)) return source;
  return null;
}

/** The heading a registry section falls under: the section itself, its part before " / ", ", note"
 *  or a parenthesis, a heading it begins ("App Container Pods" → "App Container Pods (pods)"), an
 *  isolator family heading ("seccomp-remove-set / -retain-set" → "os/linux/seccomp-remove-set"),
 *  else the file's schema heading. */
export function headingFor(file: string, section: string): string | null {
  const headings = FILES[file];
  if (!headings) return null;
  const norm = (s: string) => s.toLowerCase().trim();
  const candidates = [section, section.split(' / ')[0]!, section.split(/,| \(/)[0]!, section.split(' / ')[0]!.split(/,| \(/)[0]!];
  for (const c of candidates) {
    const exact = headings.find((h) => norm(h) === norm(c));
    if (exact) return exact;
  }
  for (const c of candidates) {
    const prefix = headings.find((h) => norm(h).startsWith(norm(c)) && c.length >= 4);
    if (prefix) return prefix;
  }
  const ending = headings.find((h) => h.includes('/') && norm(section).startsWith(norm(h.split('/').pop()!)));
  if (ending) return ending;
  const family = headings.find((h) => h.includes('/') && norm(section).startsWith(norm(h.split('/').pop()!.split('-')[0]!)));
  if (family) return family;
  return FALLBACK[file] ?? null;
}

export function specLocation(clause: Pick<Clause, 'source' | 'section'>): SpecLocation {
  const file = specFile(clause.source);
  if (!file) return { file: null, heading: null, url: null, label: `${clause.source} § ${clause.section}` };
  const heading = headingFor(file, clause.section);
  const url = `${sections.base}${file}${heading ? `#${githubAnchor(heading)}` : ''}`;
  return { file, heading, url, label: `${clause.source} § ${clause.section}` };
}

/** A spec sentence as a reader sees it rendered: its Markdown emphasis, code marks, links and
 *  HTML entities resolved to plain text (the registry keeps the Markdown verbatim). */
export function specPlain(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1$2')
    .replace(/(^|[\s(])_([^_\s][^_]*)_(?=[\s).,;:]|$)/g, '$1$2')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\\([_*`\\])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/^\s*(?:[*+-]|\d+\.)\s+/, '')
    .replace(/^\|.*\|$/, (row) => row.split('|').map((cell) => cell.trim()).filter(Boolean).join(' | '))
    .trim();
}
