import type { Translation } from '../types.js';

/** The pre-join screen, its validation messages, the lobby's waiting screen and the end screen. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
