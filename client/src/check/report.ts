import type { CheckResults, Verdict } from './types.js';

/**
 * The report an administrator gets: every result as measured (JSON, codes and numbers, no
 * translation) with the browser's facts. The view words it as text (ui/checkText.ts).
 */
export interface CheckReport {
  format: 'conclave-check/1';
  at: string;
  page: string;
  language: string;
  userAgent: string;
  devices: { cameras: string[]; microphones: string[]; speakers: string[] };
  verdict: Verdict;
  results: CheckResults;
}

export async function buildReport(results: CheckResults, verdict: Verdict): Promise<CheckReport> {
  const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) ?? [];
  const named = (kind: MediaDeviceKind): string[] => devices.filter((device) => device.kind === kind).map((device) => device.label || '—');
  return {
    format: 'conclave-check/1',
    at: new Date().toISOString(),
    page: `${location.origin}${location.pathname}`,
    // The page's language as the i18n layer set it on <html>, so this library needs no i18n.
    language: document.documentElement.lang,
    userAgent: navigator.userAgent,
    devices: { cameras: named('videoinput'), microphones: named('audioinput'), speakers: named('audiooutput') },
    verdict,
    results: structuredClone(results),
  };
}
