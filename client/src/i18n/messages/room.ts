import type { Translation } from '../types.js';

/** The call: toolbar, tiles, pages of tiles, toasts, connection quality and the banner. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
