import type { Translation } from '../types.js';

/** The pre-call check page and its report. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
