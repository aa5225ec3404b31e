// The merged matrix as a person sees it: Debian's headless Chromium (no scripts, no network) loads
// matrix.html merged from two recorded nights (testdata/: real runs of ref on host and in qemu and
// rkt's fly flavor; the second night's ref@host is ref's wrong-cwd mutant, so ACE-WD-001 flipped)
// and checks what is shown. Screenshots go to reports/browser/ (kept by CI).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../report/html.js';
import type { ClauseCoverage } from '../report/coverage.js';
import type { ResultsDocument } from '../report/result.js';
import { REPO_ROOT } from '../run/paths.js';
import { clause } from '../spec/index.js';
import { specLocation, specPlain } from '../spec/spec-links.js';
import { writeMatrix } from './write.js';

const CHROMIUM = '/usr/bin/chromium';
const TESTDATA = join(REPO_ROOT, 'harness', 'matrix', 'testdata');
const SHOTS = join(REPO_ROOT, 'reports', 'browser');
const FLIPPED = 'ACE-WD-001';

/** A night's matrix dir: the recorded cells (night2 replaces night1's cells it has), each cell's
 *  report.html rendered by today's code from its recorded results, then merged. */
function night(work: string, name: string, layers: string[], baseline?: string): string {
  const out = join(work, name);
  const cells = join(out, 'cells');
  for (const layer of layers) cpSync(join(TESTDATA, layer), cells, { recursive: true });
  for (const cell of readdirSync(cells)) {
    const dir = join(cells, cell);
    if (!existsSync(join(dir, 'results.json'))) continue;
    const doc = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsDocument;
    const cov = (JSON.parse(readFileSync(join(dir, 'clauses.json'), 'utf8')) as { clauses: ClauseCoverage[] }).clauses;
    writeFileSync(join(dir, 'report.html'), renderHtml(doc, cov));
  }
  writeMatrix(readdirSync(cells).sort().map((c) => join(cells, c)), out, baseline, new Date(name === 'night1' ? '2026-12-03T02:17:00Z' : '2026-12-04T02:17:00Z'));
  return out;
}

describe('matrix.html in Chromium', () => {
  let work: string;
  let profile: string;
  let ctx: BrowserContext;
  let page: Page;
  const offSite: string[] = [];
  let matrixUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: npm run setup -- --browser`);
    work = mkdtempSync(join(tmpdir(), 'matrix-page-'));
    profile = join(work, 'profile');
    const n1 = night(work, 'night1', ['night1']);
    const n2 = night(work, 'night2', ['night1', 'night2'], n1);
    matrixUrl = pathToFileURL(join(n2, 'matrix.html')).href;
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      // Readable without JavaScript: the page is checked with scripts off.
      javaScriptEnabled: false,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // The page must load nothing from anywhere: any non-file request is noted and refused.
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      offSite.push(url);
      return route.abort();
    });
    page = await ctx.newPage();
    await page.goto(matrixUrl);
  });

  afterAll(async () => {
    await ctx?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the regression first: the clause that flipped since last night, with its sentence', async () => {
    await expect.poll(() => page.getByRole('heading', { name: 'appc 0.8.11 conformance matrix' }).isVisible()).toBe(true);
    const regressions = page.getByRole('heading', { name: /^Regressions: \d+$/ });
    expect(await regressions.isVisible()).toBe(true);
    expect(Number((await regressions.textContent())!.split(': ')[1])).toBeGreaterThan(0);
    const row = page.locator('table', { has: page.getByRole('columnheader', { name: 'before → now' }) }).first().getByRole('row', { name: new RegExp(FLIPPED) });
    expect(await row.isVisible()).toBe(true);
    const text = (await row.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('ref@host');
    expect(text).toContain('pass → fail');
    expect(text).toContain(clause(FLIPPED).text.replace(/\s+/g, ' '));
    // Regressions come before the cells table and the grid.
    const y = async (sel: string) => (await page.locator(sel).boundingBox())!.y;
    expect(await y('#regressions')).toBeLessThan(await y('#cells'));
  });

  it('shows every cell in the headline, one that could not run with its reason', async () => {
    const cells = page.locator('h2#cells ~ table').first();
    for (const label of ['ref@host', 'ref@qemu', 'rkt:fly@host', 'ref@mars']) {
      expect(await cells.getByRole('row', { name: new RegExp(label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }).first().isVisible(), label).toBe(true);
    }
    expect(await cells.getByText('not run: unknown target mars in this harness').isVisible()).toBe(true);
  });

  it("shows the clause grid with a column per cell and, in every row, the spec's own sentence, the registry's words and the spec link", async () => {
    const grid = page.locator('table.grid');
    expect(await grid.isVisible()).toBe(true);
    const headers = await grid.locator('thead th').allInnerTexts();
    expect(headers).toEqual(expect.arrayContaining(['clause', 'statement', 'ref@host', 'ref@qemu', 'rkt:fly@host', 'ref@mars']));
    const row = page.locator(`#clause-${FLIPPED}`);
    await row.scrollIntoViewIfNeeded();
    expect(await row.isVisible()).toBe(true);
    expect((await row.innerText()).replace(/\s+/g, ' ')).toContain(clause(FLIPPED).text.replace(/\s+/g, ' '));
    const quoted = row.locator('q.spec');
    expect(await quoted.isVisible()).toBe(true);
    expect((await quoted.innerText()).replace(/\s+/g, ' ')).toContain(specPlain(clause(FLIPPED).specText!).replace(/\s+/g, ' '));
    expect(await row.getByRole('link', { name: FLIPPED }).getAttribute('href')).toBe(specLocation(clause(FLIPPED)).url);
    // The section header the clause is grouped under is shown above it.
    expect(await grid.getByRole('columnheader', { name: 'ace.md § Execution Environment', exact: true }).isVisible()).toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'matrix.png'), fullPage: false });
  });

  it('shows where implementations and targets disagree on the flipped clause', async () => {
    const impls = page.locator('h3', { hasText: 'Implementations differ on the same target' }).locator('xpath=following-sibling::table[1]');
    const targets = page.locator('h3', { hasText: 'One implementation, different verdicts on different targets' }).locator('xpath=following-sibling::table[1]');
    const implRow = impls.getByRole('row', { name: new RegExp(FLIPPED) });
    expect(await implRow.isVisible()).toBe(true);
    expect((await implRow.innerText()).replace(/\s+/g, ' ')).toMatch(/ref@host: FAIL.*rkt:fly@host: pass/);
    const targetRow = targets.getByRole('row', { name: new RegExp(FLIPPED) });
    expect(await targetRow.isVisible()).toBe(true);
    expect((await targetRow.innerText()).replace(/\s+/g, ' ')).toMatch(/ref@host: FAIL.*ref@qemu: pass/);
  });

  it("a failing cell links to its test's evidence in that cell's report", async () => {
    const cell = page.locator(`td[data-clause="${FLIPPED}"][data-cell="ref@host"]`);
    expect(await cell.innerText()).toBe('FAIL');
    const link = cell.getByRole('link', { name: 'FAIL' });
    expect(await link.isVisible()).toBe(true);
    await link.click();
    await page.waitForURL(/\/cells\/ref@host\/report\.html#test-[0-9a-f]{12}$/);
    const anchor = new URL(page.url()).hash.slice(1);
    const evidence = page.locator(`tr#${anchor}`);
    expect(await evidence.isVisible()).toBe(true);
    const box = (await evidence.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(900);
    const text = await evidence.innerText();
    expect(text).toMatch(/^fail/);
    expect(text).toContain(FLIPPED);
    expect(text).toContain('working');
    await page.screenshot({ path: join(SHOTS, 'evidence.png') });
    // In report.html too, the clause ID leads to the spec's sentence and its section of the spec.
    const clauseRow = page.locator(`tr#clause-${FLIPPED}`);
    expect((await clauseRow.innerText()).replace(/\s+/g, ' ')).toContain(clause(FLIPPED).text.replace(/\s+/g, ' '));
    expect((await clauseRow.locator('q.spec').innerText()).replace(/\s+/g, ' ')).toContain(specPlain(clause(FLIPPED).specText!).replace(/\s+/g, ' '));
    expect(await clauseRow.getByRole('link', { name: FLIPPED }).getAttribute('href')).toBe(specLocation(clause(FLIPPED)).url);
  });

  it('loaded nothing from the network', () => {
    expect(offSite).toEqual([]);
  });
});
