import { deepNest, EDGE_NUMBERS, EXTRA_KEYS, hostileString, hostileValue, longString, pollutingObject, setOwn } from './hostile.js';
import type { Rng } from './random.js';

/** Mutations of valid requests, so a change can hit any field at any depth. */

/** A deep copy that keeps own `__proto__` keys, functions and binary values. */
export function cloneOwn<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneOwn(item)) as T;
  if (typeof value !== 'object' || value === null || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  const result = {};
  for (const key of Object.keys(value)) setOwn(result, key, cloneOwn((value as Record<string, unknown>)[key]));
  return result as T;
}

type Container = Record<string, unknown> | unknown[];
interface Place {
  parent: Container;
  key: string | number;
  path: string;
}

export function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);
}

/** Every place in `holder` (breadth first, bounded), so a mutation can hit any field at any depth. */
function places(holder: unknown[]): Place[] {
  const found: Place[] = [{ parent: holder, key: 0, path: '$' }];
  for (let i = 0; i < found.length && found.length < 400; i++) {
    const place = found[i];
    if (!place) break;
    const value = get(place);
    if (!isContainer(value)) continue;
    const keys: (string | number)[] = Array.isArray(value) ? value.map((_, index) => index).slice(0, 20) : Object.keys(value);
    for (const key of keys) found.push({ parent: value, key, path: `${place.path}.${String(key)}` });
  }
  return found;
}

function get({ parent, key }: Place): unknown {
  return Array.isArray(parent) ? parent[Number(key)] : parent[String(key)];
}

function put({ parent, key }: Place, value: unknown): void {
  if (Array.isArray(parent)) parent[Number(key)] = value;
  else setOwn(parent, String(key), value);
}

function remove({ parent, key }: Place): void {
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[String(key)];
}

function retype(rng: Rng, value: unknown): unknown {
  if (typeof value === 'string') return rng.pick<unknown>([Number(value), value.length, [value], { value }, value === '' ? 0 : true, null]);
  if (typeof value === 'number') return rng.pick<unknown>([String(value), [value], value !== 0, null, { value }]);
  if (typeof value === 'boolean') return rng.pick<unknown>([String(value), value ? 1 : 0, [value], null]);
  if (Array.isArray(value)) return rng.pick<unknown>([Object.assign({}, value), value[0], value.length, JSON.stringify(value), null]);
  if (isContainer(value)) return rng.pick<unknown>([Object.values(value), Object.keys(value), JSON.stringify(value), 1, null]);
  return rng.pick<unknown>([{}, [], 0, '']);
}

export function oversize(rng: Rng, value: unknown): unknown {
  if (typeof value === 'string') return rng.chance(0.5) ? value + 'x'.repeat(rng.pick([64, 128, 256, 4096])) : longString(rng);
  if (Array.isArray(value)) {
    const count = rng.pick([2, 9, 17, 33, 65, 129, 1_000]);
    return Array.from({ length: count }, (_, i) => cloneOwn((value as unknown[])[i % Math.max(1, value.length)] ?? i));
  }
  if (isContainer(value)) {
    const copy = cloneOwn(value) as Record<string, unknown>;
    for (let i = 0; i < rng.pick([10, 100, 1_000]); i++) setOwn(copy, `extra${i}`, i);
    return copy;
  }
  return rng.pick<unknown>([1e308, 2 ** 53 + 2, -1e308, 4096]);
}

export interface Mutation {
  value: unknown;
  notes: string[];
}

/**
 * Corrupts a copy of `valid` one to three times: a wrong type, an out-of-range number, a deleted or
 * extra key (prototype-polluting ones included), an id swapped for another (`swapId`), an oversized
 * field, a wrapped value, a deep nest or a hostile value.
 */
export function mutate(rng: Rng, valid: unknown, swapId: () => unknown): Mutation {
  const holder: unknown[] = [cloneOwn(valid)];
  const notes: string[] = [];
  const rounds = rng.weighted<number>([
    [6, 1],
    [2, 2],
    [1, 3],
  ]);
  for (let round = 0; round < rounds; round++) {
    const all = places(holder);
    // Prefer leaves and fields over the root: that is where a nearly valid request is most telling.
    const place = all.length > 1 && rng.chance(0.9) ? rng.pick(all.slice(1)) : rng.pick(all);
    const value = get(place);
    const operation = rng.weighted<string>([
      [4, 'hostile'],
      [3, 'retype'],
      [2, 'number'],
      [2, 'delete'],
      [3, 'extra'],
      [3, 'id'],
      [1, 'oversize'],
      [1, 'wrap'],
      [1.5, 'pollute'],
      [0.5, 'deep'],
    ]);
    notes.push(`${operation} ${place.path}`);
    switch (operation) {
      case 'hostile':
        put(place, hostileValue(rng));
        break;
      case 'retype':
        put(place, retype(rng, value));
        break;
      case 'number':
        put(place, rng.pick(EDGE_NUMBERS));
        break;
      case 'delete':
        if (place.parent === holder) put(place, undefined);
        else remove(place);
        break;
      case 'extra':
        if (Array.isArray(value)) value.push(hostileValue(rng));
        else if (isContainer(value)) setOwn(value, rng.chance(0.6) ? rng.pick(EXTRA_KEYS) : hostileString(rng, 24), hostileValue(rng));
        else put(place, hostileValue(rng));
        break;
      case 'id':
        put(place, swapId());
        break;
      case 'oversize':
        put(place, oversize(rng, value));
        break;
      case 'wrap':
        put(place, rng.chance(0.5) ? [value] : { value });
        break;
      case 'pollute': {
        const target = isContainer(value) && !Array.isArray(value) ? value : place.parent;
        if (Array.isArray(target)) target.push(pollutingObject(rng));
        else setOwn(target, rng.pick(['__proto__', 'constructor', 'prototype']), pollutingObject(rng));
        break;
      }
      case 'deep':
        put(place, deepNest(rng));
        break;
    }
  }
  return { value: holder[0], notes };
}
