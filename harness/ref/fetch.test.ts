// ref's discovery client: the parts that need no server (the suite image-discovery runs the rest).
import { describe, expect, test } from 'vitest';
import { discoveryPage } from '../discovery/site.js';
import { metaTags, renderTemplate } from './fetch.js';

describe('meta tags', () => {
  test('finds ac-discovery and ac-discovery-pubkeys among other tags, in any attribute order and quoting', () => {
    const html = `<html><head><meta charset="utf-8"><meta content="a.test/x https://a.test/{name}.{ext}" name="ac-discovery">
      <meta name='ac-discovery-pubkeys' content='a.test https://a.test/keys.asc'><meta name="description" content="a.test nope">
      <META NAME=ac-discovery CONTENT="b.test https://b.test/{name}.{ext}"></head></html>`;
    expect(metaTags(html)).toEqual([
      { name: 'ac-discovery', prefix: 'a.test/x', url: 'https://a.test/{name}.{ext}' },
      { name: 'ac-discovery-pubkeys', prefix: 'a.test', url: 'https://a.test/keys.asc' },
      { name: 'ac-discovery', prefix: 'b.test', url: 'https://b.test/{name}.{ext}' },
    ]);
  });

  test('reads back what the harness server writes, entities and all', () => {
    const tags = [{ name: 'ac-discovery' as const, prefix: 'a.test/app', url: 'https://a.test/i?n={name}&e={ext}' }];
    expect(metaTags(discoveryPage(tags))).toEqual(tags);
  });

  test('skips a content that is not exactly "<prefix> <url>"', () => {
    expect(metaTags('<meta name="ac-discovery" content="only-one-part"><meta name="ac-discovery" content="a b c">')).toEqual([]);
  });
});

describe('templates', () => {
  test('substitutes name, labels and ext as they are', () => {
    expect(renderTemplate('https://h/{name}-{version}-{os}-{arch}.{ext}', 'h/app', { version: '1.0.0', os: 'linux', arch: 'amd64' }, 'aci.asc')).toBe(
      'https://h/h/app-1.0.0-linux-amd64.aci.asc',
    );
  });

  test('a placeholder left unfilled makes the template unusable', () => {
    expect(renderTemplate('https://h/{name}-{version}.{ext}', 'h/app', {}, 'aci')).toBeUndefined();
  });
});
