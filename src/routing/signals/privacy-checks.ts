/**
 * Checksums and range checks that turn "looks like a number" into "is one":
 * Luhn for card numbers, ISO 13616 mod-97 for IBANs, SSA ranges for US SSNs,
 * Shannon entropy for secrets. Pure functions, no allocation in the loops.
 */

/**
 * Luhn check over the digits of `s` (other characters are skipped).
 *
 * @example
 * luhnValid('4111 1111 1111 1111'); // true
 * luhnValid('4111 1111 1111 1112'); // false
 */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits > 0 && sum % 10 === 0;
}

/** IBAN lengths by country (ISO 13616 registry, common countries). */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27,
  GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20,
  LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

/**
 * Validates an IBAN: known country length (15–34 for others) and mod-97 = 1.
 * Spaces are ignored; letters must be upper case.
 *
 * @example
 * ibanValid('DE89 3704 0044 0532 0130 00'); // true
 * ibanValid('DE89 3704 0044 0532 0130 01'); // false
 */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const expected = IBAN_LENGTH[s.slice(0, 2)];
  if (expected !== undefined ? s.length !== expected : s.length < 15 || s.length > 34) return false;
  // Move the first four characters to the end, letters → 10..35, mod 97 digit by digit.
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt((i + 4) % s.length);
    if (c >= 65) {
      const v = c - 55;
      rem = (rem * 100 + v) % 97;
    } else {
      rem = (rem * 10 + (c - 48)) % 97;
    }
  }
  return rem === 1;
}

/**
 * Whether a candidate starts with a valid IBAN: the candidate may run on into
 * following text ("DE89 3704 0044 0532 0130 00 AND"), so a country with a
 * known length is checked on that many characters.
 */
export function ibanPrefixValid(raw: string): boolean {
  const s = raw.replace(/ /g, '');
  const expected = IBAN_LENGTH[s.slice(0, 2)];
  if (expected !== undefined && s.length > expected) return ibanValid(s.slice(0, expected));
  return ibanValid(s);
}

/**
 * Whether area/group/serial form a US SSN the SSA could issue: area not 000,
 * 666 or 900–999; group not 00; serial not 0000.
 *
 * @example
 * ssnValid('123', '45', '6789'); // true
 * ssnValid('666', '45', '6789'); // false
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && Number(group) !== 0 && Number(serial) !== 0;
}

/**
 * Shannon entropy of `s` in bits per character (ASCII; other characters are
 * bucketed together).
 *
 * @example
 * shannonEntropy('aaaa'); // 0
 */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Uint16Array(128);
  for (let i = 0; i < s.length; i++) counts[Math.min(s.charCodeAt(i), 127)]!++;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
