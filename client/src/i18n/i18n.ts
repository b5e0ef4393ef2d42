import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { catalogues, type Catalogue, type MessageKey } from './catalogue.js';

/**
 * The one i18n layer: every string a person reads comes from the typed catalogue (catalogue.ts),
 * where a key missing from a language is a compile error. Text put on the page through `msg()` /
 * `localize()` follows a language change at once, without a reload.
 */

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language's name in itself, for the picker. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', 'zh-CN': '简体中文' };

const STORAGE_KEY = 'conclave.lang';

/** `{name}` placeholders of a message, as the parameters `t()` requires. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;
export type MessageParams<K extends MessageKey> = { [P in Placeholders<Catalogue[K]>]: string | number };
type ParamsArgument<K extends MessageKey> = [Placeholders<Catalogue[K]>] extends [never] ? [] : [params: MessageParams<K>];

/** A language tag of the browser or the URL mapped onto the languages we have. */
export function matchLanguage(tag: string | null | undefined): Language | null {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return null;
}

/** `?lang=` first, then the person's own choice, then the browser's languages, then English. */
export function detectLanguage(search: string = location.search): Language {
  const fromUrl = matchLanguage(new URLSearchParams(search).get('lang'));
  if (fromUrl) return fromUrl;
  const saved = matchLanguage(safeStorage()?.getItem(STORAGE_KEY));
  if (saved) return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const match = matchLanguage(tag);
    if (match) return match;
  }
  return 'en';
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled (some private modes): choices just are not remembered
  }
}

type I18nEvents = {
  languageChanged: [language: Language];
};
class LanguageEvents extends TypedEmitter<I18nEvents> {
  changed(language: Language): void {
    this.emit('languageChanged', language);
  }
}
const events = new LanguageEvents();
let current: Language = typeof location === 'undefined' ? 'en' : detectLanguage();
if (typeof document !== 'undefined') document.documentElement.lang = current;

export function language(): Language {
  return current;
}

/** Switches the page's language now (everything bound re-renders) and remembers the choice. */
export function setLanguage(next: Language): void {
  safeStorage()?.setItem(STORAGE_KEY, next);
  if (next === current) return;
  current = next;
  document.documentElement.lang = next;
  rerenderBound();
  events.changed(next);
}

/** For views whose text is computed (counts, states): re-render on a change; returns the unsubscribe. */
export function onLanguageChange(listener: (language: Language) => void): () => void {
  events.on('languageChanged', listener);
  return () => events.off('languageChanged', listener);
}

/** The message in the current language with its placeholders filled. */
export function t<K extends MessageKey>(key: K, ...[params]: ParamsArgument<K>): string {
  const template: string = catalogues[current][key] ?? catalogues.en[key];
  if (!params) return template;
  const values = params as Record<string, string | number>;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : typeof value === 'number' ? formatNumber(value) : value;
  });
}

/**
 * A message chosen at run time from data (a state or reason the server sent), unfilled; null when
 * the catalogue has no such key, so the caller can fall back.
 */
export function lookup(key: string): string | null {
  if (!Object.hasOwn(catalogues.en, key)) return null;
  const known = key as MessageKey;
  return catalogues[current][known] ?? catalogues.en[known];
}

/** Keys with plural forms are written `key.one` / `key.other`; zh-CN uses `other` alone. */
type PluralBase<K> = K extends `${infer Base}.other` ? (`${Base}.one` extends MessageKey ? Base : never) : never;
export type PluralKey = PluralBase<MessageKey>;

/** The plural form the language uses for `count` (`{count}` in the message is filled). */
export function plural(base: PluralKey, count: number): string {
  const form = formatter('plural', undefined, () => new Intl.PluralRules(current)).select(count) === 'one' ? 'one' : 'other';
  const key = [base, form].join('.') as MessageKey;
  const template: string = catalogues[current][key] ?? catalogues.en[key];
  return template.replace('{count}', formatNumber(count));
}

/** A message to render later (and again after each language change): what views put on the page. */
export class Msg {
  constructor(readonly render: () => string) {}
  toString(): string {
    return this.render();
  }
}

/** A catalogue message as a `Msg`: `h('label', {}, msg('prejoin.room'), input)`. */
export function msg<K extends MessageKey>(key: K, ...params: ParamsArgument<K>): Msg {
  return new Msg(() => t(key, ...params));
}

/** Any computed text as a `Msg` (counts, lists, formatted dates). */
export function computed(render: () => string): Msg {
  return new Msg(render);
}

// Nodes showing bound text, held weakly so a removed tile or message is collected as before.
type Target = 'text' | `attr:${string}`;
const bindings = new WeakMap<Node, Map<Target, Msg>>();
let bound = new Set<WeakRef<Node>>();
let pruneAt = 512;

/**
 * Shows `message` as the node's text (`'text'`) or as one of its attributes (`'attr:title'`), now and
 * after every language change. Binding the same target again replaces the message.
 */
export function localize(node: Node, target: Target, message: Msg | string): void {
  let targets = bindings.get(node);
  if (typeof message === 'string') {
    targets?.delete(target);
    apply(node, target, message);
    return;
  }
  if (!targets) {
    targets = new Map();
    bindings.set(node, targets);
    bound.add(new WeakRef(node));
    if (bound.size > pruneAt) prune();
  }
  targets.set(target, message);
  apply(node, target, message.render());
}

/** A text node bound to a message. */
export function textOf(message: Msg): Text {
  const node = document.createTextNode('');
  localize(node, 'text', message);
  return node;
}

/** Sets an element's accessible name and tooltip together. */
export function label(element: Element, message: Msg | string): void {
  localize(element, 'attr:aria-label', message);
  localize(element, 'attr:title', message);
}

function apply(node: Node, target: Target, value: string): void {
  if (target === 'text') node.textContent = value;
  else (node as Element).setAttribute(target.slice(5), value);
}

function rerenderBound(): void {
  for (const ref of bound) {
    const node = ref.deref();
    const targets = node && bindings.get(node);
    if (!node || !targets) {
      bound.delete(ref);
      continue;
    }
    for (const [target, message] of targets) apply(node, target, message.render());
  }
}

function prune(): void {
  bound = new Set([...bound].filter((ref) => ref.deref() !== undefined));
  pruneAt = Math.max(512, bound.size * 2);
}

/**
 * Intl formatters by language, kind and options. Making one costs far more than formatting with it
 * (a profile of joining a call showed ~20 ms of `new Intl.NumberFormat` alone), and the views
 * format the same few ways over and over.
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.PluralRules>();

function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.PluralRules>(kind: string, options: object | undefined, make: () => T): T {
  const key = `${current} ${kind} ${options === undefined ? '' : JSON.stringify(options)}`;
  let made = formatters.get(key) as T | undefined;
  if (!made) {
    made = make();
    formatters.set(key, made);
  }
  return made;
}

// Formatting for the current language.
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return formatter('number', options, () => new Intl.NumberFormat(current, options)).format(value);
}

const TIME: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
const CLOCK: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hour12: false };
const DATE_TIME: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'medium' };

/** Hours and minutes, as chat apps show them. */
export function formatTime(at: number | Date): string {
  return formatter('time', undefined, () => new Intl.DateTimeFormat(current, TIME)).format(at);
}

/** Hours, minutes, seconds and milliseconds: a diagnostics timeline. */
export function formatClock(at: number | Date): string {
  return formatter('clock', undefined, () => new Intl.DateTimeFormat(current, CLOCK)).format(at);
}

export function formatDateTime(at: number | Date): string {
  return formatter('dateTime', undefined, () => new Intl.DateTimeFormat(current, DATE_TIME)).format(at);
}

const SIZE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;

/** A file size with the language's own unit names ("1.5 MB", "1.5 兆字节"). */
export function formatFileSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return formatNumber(value, { style: 'unit', unit: SIZE_UNITS[unit], unitDisplay: 'short', maximumFractionDigits: unit === 0 ? 0 : 1 });
}

/** A bit rate in kbit/s or Mbit/s. */
export function formatBitrate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1_000_000) return formatNumber(bitsPerSecond / 1_000_000, { style: 'unit', unit: 'megabit-per-second', maximumFractionDigits: 1 });
  return formatNumber(bitsPerSecond / 1000, { style: 'unit', unit: 'kilobit-per-second', maximumFractionDigits: 0 });
}

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/** All languages' catalogues, for the tests that compare the page with them. */
export { catalogues };
