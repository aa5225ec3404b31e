import { describe, expect, it } from 'vitest';
import { parseQuantity, quantityMilli, quantityUnits } from './quantity.js';

describe('quantity parsing (ACE-ISO-RES-005)', () => {
  it.each([
    ['128974848', 128974848n],
    ['125952Ki', 128974848n],
    ['123Mi', 128974848n],
    ['1G', 1_000_000_000n],
    ['1k', 1000n],
    ['1K', 1000n],
    ['2Gi', 2n * 1024n ** 3n],
    ['1Ei', 1n << 60n],
    ['1E', 10n ** 18n],
    ['12e6', 12_000_000n],
    ['1.5Gi', 1610612736n],
    ['0.3', 1n], // rounded up to a whole byte
    ['+7', 7n],
  ])('%s is %d base units', (q, expected) => {
    expect(quantityUnits(q)).toBe(expected);
  });

  it('accepts JSON numbers', () => {
    expect(quantityUnits(1048576)).toBe(1048576n);
    expect(quantityMilli(0.5)).toBe(500n);
  });

  it.each([
    ['500m', 500n],
    ['1', 1000n],
    ['1.5', 1500n],
    ['2500u', 3n], // 2.5 milli, rounded up
    ['100n', 1n],
  ])('cpu %s is %d millicores', (q, expected) => {
    expect(quantityMilli(q)).toBe(expected);
  });

  it('keeps exact rationals', () => {
    expect(parseQuantity('300m')).toEqual({ num: 3n, den: 10n });
  });

  it.each(['', 'abc', '1X', '1.2.3', '1 Gi', 'Gi', '1ki', '--1'])('rejects %j', (q) => {
    expect(() => parseQuantity(q)).toThrow(/invalid quantity/);
  });

  it('rejects negative limits and non-numbers', () => {
    expect(() => quantityUnits('-1')).toThrow(/negative/);
    expect(() => parseQuantity(null)).toThrow(/string or a number/);
    expect(() => parseQuantity(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });
});
