import type { Translation } from '../types.js';

/** The connection panel: timeline, live charts and the diagnostics bundle. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
