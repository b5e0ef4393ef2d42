import type { Translation } from '../types.js';

/** Camera, microphone and screen errors, as the client library reports them. */
export const en = {
  'media.insecureContext':
    'Camera and microphone need a secure page (https:// or http://localhost); this page is {origin}, so the browser does not offer them. You can still see and hear the others.',
  'media.denied.mic': "Microphone permission was denied. Allow it in the browser's site settings to be seen or heard.",
  'media.denied.camera': "Camera permission was denied. Allow it in the browser's site settings to be seen or heard.",
  'media.denied.screen': "Screen sharing permission was denied. Allow it in the browser's site settings to be seen or heard.",
  'media.notFound.mic': 'No microphone was found.',
  'media.notFound.camera': 'No camera was found.',
  'media.notFound.screen': 'No screen was found.',
  'media.busy.mic': 'The microphone is in use by another application or could not start.',
  'media.busy.camera': 'The camera is in use by another application or could not start.',
  'media.busy.screen': 'The screen is in use by another application or could not start.',
  'media.failed.mic': 'Microphone failed: {detail}',
  'media.failed.camera': 'Camera failed: {detail}',
  'media.failed.screen': 'Screen sharing failed: {detail}',
  'media.device.camera': 'Camera {number}',
  'media.device.mic': 'Microphone {number}',
} as const;

export const zhCN: Translation<typeof en> = {
  'media.insecureContext':
    '摄像头和麦克风只能在安全页面（https:// 或 http://localhost）上使用；当前页面是 {origin}，浏览器因此不提供这些设备。你仍然可以看到和听到其他人。',
  'media.denied.mic': '麦克风权限被拒绝。请在浏览器的网站设置中允许使用，别人才能听到你。',
  'media.denied.camera': '摄像头权限被拒绝。请在浏览器的网站设置中允许使用，别人才能看到你。',
  'media.denied.screen': '屏幕共享权限被拒绝。请在浏览器的网站设置中允许使用，才能共享屏幕。',
  'media.notFound.mic': '未找到麦克风。',
  'media.notFound.camera': '未找到摄像头。',
  'media.notFound.screen': '未找到可共享的屏幕。',
  'media.busy.mic': '麦克风正被其他应用占用，或无法启动。',
  'media.busy.camera': '摄像头正被其他应用占用，或无法启动。',
  'media.busy.screen': '屏幕正被其他应用占用，或无法开始共享。',
  'media.failed.mic': '麦克风出错：{detail}',
  'media.failed.camera': '摄像头出错：{detail}',
  'media.failed.screen': '屏幕共享出错：{detail}',
  'media.device.camera': '摄像头 {number}',
  'media.device.mic': '麦克风 {number}',
};
