import { LOW_BANDWIDTH_BPS } from './network.js';
import type { CheckCode, CheckResults, Finding, FindingCode, Severity, Verdict } from './types.js';

/**
 * The check's verdict in findings a person can act on, worst first. The network findings say how
 * calls will connect from here, the way an administrator would explain it: UDP is the normal
 * path; without it, TCP to the server; without that, TURN; without any, no calls.
 */
export function verdictOf(results: CheckResults): Verdict {
  const findings: Finding[] = [];
  const add = (code: FindingCode, severity: Severity, params?: Finding['params']): void =>
    void findings.push({ code, severity, ...(params ? { params } : {}) });
  const { browser, camera, microphone, speakers, signalling, udp, tcp, relay, bandwidth } = results;

  if (browser.code === 'no-webrtc') add('no-webrtc', 'fail');
  if (browser.code === 'insecure-context' || camera.code === 'insecure-context') add('insecure-context', 'fail');
  const device = (prefix: 'camera' | 'mic', code: CheckCode): void => {
    if (code === 'denied') add(`${prefix}-denied`, 'fail');
    else if (code === 'not-found') add(`${prefix}-missing`, 'fail');
    else if (code === 'busy') add(`${prefix}-busy`, 'fail');
    else if (code === 'error') add(`${prefix}-error`, 'fail');
  };
  device('camera', camera.code);
  if (camera.code === 'low-quality') add('camera-low', 'warn', { width: camera.width ?? 0, height: camera.height ?? 0, fps: camera.frameRate ?? 0 });
  device('mic', microphone.code);
  if (microphone.code === 'silent') add('mic-silent', 'warn');
  if (speakers.code === 'not-heard') add('speakers-not-heard', 'warn');

  if (signalling.code === 'unreachable') add('server-unreachable', 'fail');
  else if (signalling.code === 'token-needed') add('token-needed', 'fail');
  else if (signalling.code === 'token-invalid') add('token-invalid', 'fail');
  else if (signalling.status === 'pass' || signalling.status === 'warn') {
    const works = (status: string): boolean => status === 'pass' || status === 'warn';
    const turnOver = relay.pair?.relayProtocol?.toUpperCase() ?? 'UDP';
    if (works(udp.status)) add('udp-ok', 'ok');
    else if (works(tcp.status)) add('udp-blocked-tcp', 'warn');
    else if (works(relay.status)) add(turnOver === 'TCP' ? 'udp-blocked-turn' : 'direct-blocked-turn', 'warn');
    else if (udp.status === 'fail' && tcp.status === 'fail') add('no-media-path', 'fail');
    if (relay.status === 'fail') add('turn-failed', works(udp.status) || works(tcp.status) ? 'warn' : 'fail');
    const rtt = [udp, tcp, relay].find((path) => works(path.status))?.rttMs;
    if (rtt !== undefined && [udp, tcp, relay].every((path) => !works(path.status) || path.code === 'slow')) add('rtt-high', 'warn', { ms: Math.round(rtt) });
    if (bandwidth.uploadBps !== undefined && bandwidth.code === 'slow') {
      if (bandwidth.uploadBps < LOW_BANDWIDTH_BPS) add('upload-low', 'warn', { rate: bandwidth.uploadBps });
      if ((bandwidth.downloadBps ?? 0) < LOW_BANDWIDTH_BPS) add('download-low', 'warn', { rate: bandwidth.downloadBps ?? 0 });
    }
  }

  const rank: Record<Severity, number> = { fail: 2, warn: 1, ok: 0 };
  findings.sort((a, b) => rank[b.severity] - rank[a.severity]);
  const overall = findings.reduce<Severity>((worst, finding) => (rank[finding.severity] > rank[worst] ? finding.severity : worst), 'ok');
  return { overall, findings };
}
