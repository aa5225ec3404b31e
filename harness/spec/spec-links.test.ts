import { describe, expect, it } from 'vitest';
import { CLAUSES, clause } from './index.js';
import sections from './spec-sections.json' with { type: 'json' };
import { githubAnchor, headingFor, specLocation } from './spec-links.js';

describe('spec links', () => {
  it('derives anchors as GitHub does (anchors the spec itself links to)', () => {
    // Links found in the spec's own text at v0.8.11: ace.md#app-container-metadata-service, types.md#ac-identifier-type.
    expect(githubAnchor('App Container Metadata Service')).toBe('app-container-metadata-service');
    expect(githubAnchor('AC Identifier Type')).toBe('ac-identifier-type');
    expect(githubAnchor('os/linux/seccomp-remove-set')).toBe('oslinuxseccomp-remove-set');
    expect(githubAnchor('App Container Pods (pods)')).toBe('app-container-pods-pods');
  });

  it('links every spec clause of the registry to its file, and to a heading of that file', () => {
    for (const c of CLAUSES.values()) {
      const loc = specLocation(c);
      if (c.source === 'suite') {
        expect(loc.url, c.id).toBeNull();
        continue;
      }
      expect(loc.url, c.id).toMatch(/^https:\/\/github\.com\/appc\/spec\/blob\/v0\.8\.11\//);
      if (c.source.endsWith('.md')) {
        expect(loc.heading, `${c.id} ${c.section}`).not.toBeNull();
        expect((sections.files as Record<string, string[]>)[loc.file!]).toContain(loc.heading);
      }
    }
  });

  it('picks the heading a section names, or the one holding the field it names', () => {
    expect(headingFor('spec/ace.md', 'os/linux/seccomp-remove-set, note 1')).toBe('os/linux/seccomp-remove-set');
    expect(headingFor('spec/ace.md', 'Identity Endpoint (sign)')).toBe('Identity Endpoint');
    expect(headingFor('spec/ace.md', 'Metadata Service / § Pod UUID')).toBe('Metadata Service');
    expect(headingFor('spec/pods.md', 'App Container Pods')).toBe('App Container Pods (pods)');
    expect(headingFor('spec/pods.md', 'volumes.kind=empty')).toBe('Pod Manifest Schema');
    expect(headingFor('spec/aci.md', 'app.exec')).toBe('Image Manifest Schema');
    expect(headingFor('spec/aci.md', 'Image ID / types.md')).toBe('Image ID');
    expect(headingFor('spec/OS-SPEC.md', 'Linux (introduction)')).toBe('Linux');
    expect(specLocation(clause('ACE-VOL-001')).url).toBe('https://github.com/appc/spec/blob/v0.8.11/spec/ace.md#volume-setup');
  });
});
