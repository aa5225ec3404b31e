import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cacheKey, GUEST_RELEASES } from './guest-image.js';

const kernel = { name: 'linux-image-6.1.0-57-amd64', version: '6.1.158-1' };

describe('guest cache key', () => {
  it('is the same for the same inputs and differs per release, profile and kernel', () => {
    const key = cacheKey('lean', 'http://deb.debian.org/debian', kernel, 'bookworm');
    expect(cacheKey('lean', 'http://deb.debian.org/debian', kernel, 'bookworm')).toBe(key);
    expect(cacheKey('lean', 'http://deb.debian.org/debian', kernel, 'bullseye')).not.toBe(key);
    expect(cacheKey('systemd', 'http://deb.debian.org/debian', kernel, 'bookworm')).not.toBe(key);
    expect(cacheKey('lean', 'http://deb.debian.org/debian', { ...kernel, version: '6.1.159-1' }, 'bookworm')).not.toBe(key);
  });
});

describe.runIf(existsSync('/usr/share/debootstrap/scripts'))('guest releases', () => {
  it('are releases debootstrap knows', () => {
    for (const r of GUEST_RELEASES) expect(existsSync(`/usr/share/debootstrap/scripts/${r}`), r).toBe(true);
  });
});
