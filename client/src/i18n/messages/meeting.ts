import type { Translation } from '../types.js';

/** Hosts and moderators: the participants panel, knocking, hands, reactions and meeting controls. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
