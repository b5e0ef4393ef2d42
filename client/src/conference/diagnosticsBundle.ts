import type { ConferenceClient } from './ConferenceClient.js';
import type { LinkSample, TimelineEntry } from './Diagnostics.js';
import type { ConferenceSnapshot, ConferenceStats } from './types.js';

/** The file "Download diagnostics" saves: what an administrator asks for when a call went wrong. */
export interface DiagnosticsBundle {
  format: 'conclave-diagnostics/1';
  generatedAt: string;
  /** The page without its query (an invitation token stays out of the file). */
  page: string;
  room: string;
  self: { id: string; displayName: string; role: string } | null;
  browser: {
    userAgent: string;
    language: string;
    languages: readonly string[];
    platform: string;
    cores: number | null;
    secureContext: boolean;
    webrtc: boolean;
    /** The Network Information API's view, where the browser has it. */
    network: { effectiveType?: string; downlinkMbps?: number; rttMs?: number } | null;
    screen: { width: number; height: number; pixelRatio: number };
  };
  devices: { kind: string; label: string }[];
  timeline: TimelineEntry[];
  /** One sample every two seconds, the last minute. */
  samples: LinkSample[];
  stats: ConferenceStats | null;
  snapshot: ConferenceSnapshot;
}

interface NetworkInformation {
  effectiveType?: string;
  downlink?: number;
  rtt?: number;
}

export async function buildDiagnosticsBundle(client: ConferenceClient, stats: ConferenceStats | null): Promise<DiagnosticsBundle> {
  const self = client.self;
  const connection = (navigator as Navigator & { connection?: NetworkInformation }).connection;
  const devices = await navigator.mediaDevices?.enumerateDevices().catch(() => []);
  return {
    format: 'conclave-diagnostics/1',
    generatedAt: new Date().toISOString(),
    page: `${location.origin}${location.pathname}`,
    room: client.roomId,
    self: self && { id: self.id, displayName: self.displayName, role: self.role },
    browser: {
      userAgent: navigator.userAgent,
      language: navigator.language,
      languages: navigator.languages ?? [],
      platform: navigator.platform,
      cores: navigator.hardwareConcurrency ?? null,
      secureContext: window.isSecureContext,
      webrtc: typeof RTCPeerConnection === 'function',
      network: connection ? { effectiveType: connection.effectiveType, downlinkMbps: connection.downlink, rttMs: connection.rtt } : null,
      screen: { width: screen.width, height: screen.height, pixelRatio: devicePixelRatio },
    },
    devices: (devices ?? []).map((device) => ({ kind: device.kind, label: device.label })),
    timeline: [...client.diagnostics.timeline],
    samples: [...client.diagnostics.recentSamples],
    stats,
    snapshot: client.snapshot(),
  };
}
