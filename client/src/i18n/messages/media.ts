import type { Translation } from '../types.js';

/** Camera, microphone and screen errors, as the client library reports them. */
export const en = {} as const;

export const zhCN: Translation<typeof en> = {};
