// Resource quantities of appc isolators (spec/ace.md § Resource Isolators, ACE-ISO-RES-004/005):
// plain numbers, decimal suffixes (k M G T P E; upper-case K tolerated as the prose spells it),
// binary suffixes (Ki … Ei), small units (m, u, n) and exponents (12e6). Values are kept as exact
// rationals (bigint) so that "0.3" or "300m" never pass through a float.

export interface Rational {
  num: bigint;
  den: bigint;
}

const DECIMAL: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  K: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
};
const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const SMALL: Record<string, bigint> = { m: 10n ** 3n, u: 10n ** 6n, n: 10n ** 9n };

const FORM = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE])([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[kKMGTPEmun]))?$/;

export class QuantityError extends Error {
  override name = 'QuantityError';
}

/** Parses a quantity into an exact rational number of base units. */
export function parseQuantity(q: unknown): Rational {
  let text: string;
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) throw new QuantityError(`not a finite quantity: ${q}`);
    // JSON numbers: their shortest decimal form is what the manifest author wrote.
    text = String(q);
  } else if (typeof q === 'string') {
    text = q.trim();
  } else {
    throw new QuantityError(`quantity must be a string or a number, got ${JSON.stringify(q)}`);
  }
  const m = FORM.exec(text);
  if (!m) throw new QuantityError(`invalid quantity: ${JSON.stringify(q)}`);
  const [, sign, digits, exp, expValue, suffix] = m;
  const [int, frac = ''] = digits!.split('.');
  let num = BigInt((int || '0') + frac);
  let den = 10n ** BigInt(frac.length);
  if (exp) {
    const e = BigInt(expValue!);
    if (e > 100n || e < -100n) throw new QuantityError(`exponent out of range: ${JSON.stringify(q)}`);
    if (e >= 0n) num *= 10n ** e;
    else den *= 10n ** -e;
  } else if (suffix) {
    if (suffix in BINARY) num *= BINARY[suffix]!;
    else if (suffix in SMALL) den *= SMALL[suffix]!;
    else num *= DECIMAL[suffix]!;
  }
  if (sign === '-') num = -num;
  return reduce({ num, den });
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function reduce(r: Rational): Rational {
  const g = gcd(r.num, r.den) || 1n;
  return { num: r.num / g, den: r.den / g };
}

/** Rounds up to whole base units: a limit must never end up below what was asked for. */
export function ceilUnits(r: Rational): bigint {
  const q = r.num / r.den;
  return r.num % r.den === 0n || r.num < 0n ? q : q + 1n;
}

/** Whole base units (e.g. bytes) of a quantity; throws on negative values. */
export function quantityUnits(q: unknown): bigint {
  const r = parseQuantity(q);
  if (r.num < 0n) throw new QuantityError(`negative quantity: ${JSON.stringify(q)}`);
  return ceilUnits(r);
}

/** Thousandths of a unit (cpu "500m" → 500n, "1.5" → 1500n), rounded up. */
export function quantityMilli(q: unknown): bigint {
  const r = parseQuantity(q);
  if (r.num < 0n) throw new QuantityError(`negative quantity: ${JSON.stringify(q)}`);
  return ceilUnits({ num: r.num * 1000n, den: r.den });
}
