import { z } from 'zod';

/** Building blocks of request schemas, shared by the protocol's parts. */

/** A server-made id (peer, transport, producer…). */
export const Id = z.string().min(1).max(64);

/** A request with nothing to say: one schema, so tests and tools can tell such requests apart. */
export const EmptyRequest = z.object({});
