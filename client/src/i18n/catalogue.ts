import * as announcements from './messages/announcements.js';
import * as check from './messages/check.js';
import * as collaboration from './messages/collaboration.js';
import * as common from './messages/common.js';
import * as diagnostics from './messages/diagnostics.js';
import * as media from './messages/media.js';
import * as meeting from './messages/meeting.js';
import * as prejoin from './messages/prejoin.js';
import * as recording from './messages/recording.js';
import * as room from './messages/room.js';

/**
 * Every message, by area: each file under messages/ holds an area's English (the source, `as const`
 * so placeholders are typed) and its Simplified Chinese, which must have exactly the same keys. Keys
 * start with their area's name, so two areas never define one key.
 */
const en = {
  ...common.en,
  ...prejoin.en,
  ...room.en,
  ...media.en,
  ...meeting.en,
  ...recording.en,
  ...collaboration.en,
  ...check.en,
  ...diagnostics.en,
  ...announcements.en,
} as const;
const zhCN = {
  ...common.zhCN,
  ...prejoin.zhCN,
  ...room.zhCN,
  ...media.zhCN,
  ...meeting.zhCN,
  ...recording.zhCN,
  ...collaboration.zhCN,
  ...check.zhCN,
  ...diagnostics.zhCN,
  ...announcements.zhCN,
} as const;

export type Catalogue = typeof en;
export type MessageKey = keyof Catalogue;

export const catalogues: Record<'en' | 'zh-CN', Record<MessageKey, string>> = { en, 'zh-CN': zhCN };
