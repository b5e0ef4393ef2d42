import type { Translation } from '../types.js';

/** What screen readers announce politely during a call (ui/Announcer.ts). */
export const en = {
  'announcements.joined': '{name} joined',
  'announcements.left': '{name} left',
} as const;

export const zhCN: Translation<typeof en> = {
  'announcements.joined': '{name} 加入了会议',
  'announcements.left': '{name} 离开了会议',
};
