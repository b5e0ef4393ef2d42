import type { Translation } from '../types.js';

/** Chat, files and the whiteboard. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
