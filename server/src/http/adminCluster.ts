import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { ConclaveError } from '../../../shared/errors.js';
import type { Cluster } from '../cluster/Cluster.js';
import { FORWARDED_HEADER, type AdminCall } from '../cluster/ClusterAdmin.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';

/** What the admin API needs of the cluster (docs/admin-api.md, "In a cluster"). */
export type AdminCluster = Pick<Cluster, 'nodeId' | 'hostElsewhere' | 'adminOn' | 'otherNodes'>;

const RoomList = z.object({ rooms: z.array(z.record(z.string(), z.unknown())) });

/** Whether this call came from another node, to be answered here alone. */
export const isForwarded = (req: Request): boolean => req.get(FORWARDED_HEADER) !== undefined;

/**
 * Calls about a room another node hosts go to that node, and its answer comes back as it is: any
 * node answers for the whole cluster. A room open here, or in nobody's directory entry (closed, or
 * never opened), is answered here — except calls about one participant of a room spanning nodes
 * who is on another node: those go to their node.
 */
export function forwardRoomCalls(api: Router, cluster: AdminCluster, rooms: RoomRegistry, fail: (res: Response, error: ConclaveError) => void): void {
  api.use((req: Request, res: Response, next: NextFunction) => {
    const roomId = roomInPath(req.path);
    const here = roomId === undefined ? undefined : rooms.get(roomId);
    const elsewhere = participantElsewhere(req.path, here);
    if (roomId === undefined || isForwarded(req) || (here && !elsewhere)) {
      next();
      return;
    }
    (elsewhere ? Promise.resolve(cluster.otherNodes().find((node) => node.id === elsewhere)) : cluster.hostElsewhere(roomId))
      .then(async (node) => {
        if (!node) return next();
        const call: AdminCall = { method: req.method as AdminCall['method'], path: req.url, body: req.body as unknown };
        const answer = await cluster.adminOn(node, call);
        res.status(answer.status).json(answer.body);
      })
      .catch((error: unknown) => (error instanceof ConclaveError ? fail(res, error) : next(error)));
  });
}

/**
 * Every node's rooms, each with the node that hosts it; nodes that did not answer are listed in
 * `unreachable` (their rooms are missing from this answer, not gone).
 */
export async function clusterRooms(
  cluster: AdminCluster,
  local: Record<string, unknown>[],
): Promise<{ rooms: Record<string, unknown>[]; unreachable: string[] }> {
  const rooms: Record<string, unknown>[] = local.map((room) => ({ ...room, node: cluster.nodeId }));
  const unreachable: string[] = [];
  await Promise.all(
    cluster.otherNodes().map(async (node) => {
      try {
        const answer = await cluster.adminOn(node, { method: 'GET', path: '/rooms' });
        const listed = RoomList.safeParse(answer.body);
        if (answer.status !== 200 || !listed.success) throw new Error(`answered ${answer.status}`);
        rooms.push(...listed.data.rooms.map((room) => ({ ...room, node: node.id })));
      } catch {
        unreachable.push(node.id);
      }
    }),
  );
  return { rooms: rooms.sort((a, b) => String(a.id).localeCompare(String(b.id))), unreachable: unreachable.sort() };
}

/** The node of the participant a call is about, when they are on another node of a room open here. */
function participantElsewhere(path: string, room: Room | undefined): string | undefined {
  const segment = /^\/rooms\/[^/]+\/participants\/([^/]+)/.exec(path)?.[1];
  if (!room || segment === undefined) return undefined;
  try {
    return room.remote.get(decodeURIComponent(segment))?.node;
  } catch {
    return undefined;
  }
}

function roomInPath(path: string): string | undefined {
  const segment = /^\/rooms\/([^/]+)/.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
