import type { ParsedRequestOf, RequestName, Responses } from '../../../shared/protocol.js';
import type { Connection } from './connection.js';

/** Per-request hooks. */
export interface RequestScope {
  /** Runs after this request's acknowledgement is sent, so the client sees the answer first. */
  afterReply(task: () => void): void;
}

export type Handler<K extends RequestName> = (connection: Connection, request: ParsedRequestOf<K>, scope: RequestScope) => Promise<Responses[K]> | Responses[K];

/** One handler for every request of the protocol. */
export type HandlerTable = { [K in RequestName]: Handler<K> };

/** One signalling domain's handlers: some requests, each typed from the protocol. */
export type Domain = Partial<HandlerTable>;

type Names<D extends readonly Domain[]> = { [I in keyof D]: keyof D[I] }[number];
type Repeated<D extends readonly Domain[]> = D extends readonly [infer First extends Domain, ...infer Rest extends readonly Domain[]]
  ? (keyof First & Names<Rest>) | Repeated<Rest>
  : never;
/** D itself when its domains answer every request exactly once; otherwise a shape naming what is wrong. */
type Whole<D extends readonly Domain[]> = [Repeated<D>] extends [never]
  ? [Exclude<RequestName, Names<D>>] extends [never]
    ? D
    : { missingHandlers: Exclude<RequestName, Names<D>> }
  : { handledTwice: Repeated<D> };

/**
 * The one handler table, from the domains. A request with no handler, or with a handler in two
 * domains, does not compile: the error names it.
 */
export function composeHandlers<const D extends readonly Domain[]>(...domains: D & Whole<D>): HandlerTable {
  // The types above prove the union is whole and disjoint; Object.assign cannot say so itself.
  return Object.assign({}, ...domains) as HandlerTable;
}
