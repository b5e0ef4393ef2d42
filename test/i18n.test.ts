import { describe, expect, it } from 'vitest';
import { catalogues, matchLanguage, plural, t, type PluralKey } from '../client/src/i18n/i18n.js';
import type { MessageKey } from '../client/src/i18n/catalogue.js';

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '').sort();

describe('the message catalogue', () => {
  const keys = Object.keys(catalogues.en) as MessageKey[];

  it('has every English message in Simplified Chinese, with the same placeholders and nothing empty', () => {
    expect(Object.keys(catalogues['zh-CN']).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      expect(catalogues.en[key].trim(), key).not.toBe('');
      expect(catalogues['zh-CN'][key].trim(), key).not.toBe('');
      expect(placeholders(catalogues['zh-CN'][key]), key).toEqual(placeholders(catalogues.en[key]));
    }
  });

  it('writes plural forms as .one / .other pairs in English', () => {
    for (const key of keys.filter((k) => k.endsWith('.one'))) expect(keys, key).toContain(key.replace(/\.one$/, '.other'));
  });

  it('fills placeholders, and counts in the plural form the language needs', () => {
    expect(t('error.ROOM_FULL')).toBe('This room is full.');
    const pluralKeys = keys.filter((k) => k.endsWith('.one')).map((k) => k.replace(/\.one$/, '')) as PluralKey[];
    for (const base of pluralKeys) {
      expect(plural(base, 1)).toContain('1');
      expect(plural(base, 3)).toContain('3');
    }
  });

  it('maps the browser’s language tags onto the languages it has', () => {
    expect(matchLanguage('zh')).toBe('zh-CN');
    expect(matchLanguage('zh-Hans-CN')).toBe('zh-CN');
    expect(matchLanguage('en-GB')).toBe('en');
    expect(matchLanguage('fr')).toBeNull();
    expect(matchLanguage(undefined)).toBeNull();
  });
});
