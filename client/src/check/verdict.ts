import { LOW_BANDWIDTH_BPS } from './network.js';
import type { CheckCode, CheckResults, Finding, PathResult, Severity, Verdict } from './types.js';

/**
 * The check's verdict in findings a person can act on, worst first. The network findings say how
 * calls will connect from here, the way an administrator would explain it: UDP is the normal
 * path; without it, TCP to the server; without that, TURN; without any, no calls. A path the
 * server turned down (`server-refused`) was not tested: nothing is concluded about the network
 * from it.
 */
export function verdictOf(results: CheckResults): Verdict {
  const findings: Finding[] = [];
  const add = (finding: Finding): void => void findings.push(finding);
  const { browser, camera, microphone, speakers, signalling, udp, tcp, relay, bandwidth } = results;

  if (browser.code === 'no-webrtc') add({ code: 'no-webrtc', severity: 'fail' });
  if (browser.code === 'insecure-context' || camera.code === 'insecure-context') add({ code: 'insecure-context', severity: 'fail' });
  const device = (prefix: 'camera' | 'mic', code: CheckCode): void => {
    if (code === 'denied') add({ code: `${prefix}-denied`, severity: 'fail' });
    else if (code === 'not-found') add({ code: `${prefix}-missing`, severity: 'fail' });
    else if (code === 'busy') add({ code: `${prefix}-busy`, severity: 'fail' });
    else if (code === 'error') add({ code: `${prefix}-error`, severity: 'fail' });
  };
  device('camera', camera.code);
  if (camera.code === 'low-quality')
    add({ code: 'camera-low', severity: 'warn', params: { width: camera.width ?? 0, height: camera.height ?? 0, fps: camera.frameRate ?? 0 } });
  device('mic', microphone.code);
  if (microphone.code === 'silent') add({ code: 'mic-silent', severity: 'warn' });
  if (speakers.code === 'not-heard') add({ code: 'speakers-not-heard', severity: 'warn' });

  if (signalling.code === 'unreachable') add({ code: 'server-unreachable', severity: 'fail' });
  else if (signalling.code === 'token-needed') add({ code: 'token-needed', severity: 'fail' });
  else if (signalling.code === 'token-invalid') add({ code: 'token-invalid', severity: 'fail' });
  else if (signalling.status === 'pass' || signalling.status === 'warn') {
    const works = (path: PathResult): boolean => path.status === 'pass' || path.status === 'warn';
    // Failed on the network's account: the server took the test and the path did not connect.
    const blocked = (path: PathResult): boolean => path.status === 'fail' && path.code !== 'server-refused';
    const turnOver = relay.pair?.relayProtocol?.toUpperCase() ?? 'UDP';
    if (works(udp)) add({ code: 'udp-ok', severity: 'ok' });
    else if (blocked(udp) && works(tcp)) add({ code: 'udp-blocked-tcp', severity: 'warn' });
    else if (blocked(udp) && works(relay) && turnOver === 'TCP') add({ code: 'udp-blocked-turn', severity: 'warn' });
    else if (blocked(udp) && works(relay) && blocked(tcp)) add({ code: 'direct-blocked-turn', severity: 'warn' });
    else if (blocked(udp) && blocked(tcp) && !works(relay) && relay.code !== 'server-refused') add({ code: 'no-media-path', severity: 'fail' });
    if (blocked(relay)) add({ code: 'turn-failed', severity: works(udp) || works(tcp) ? 'warn' : 'fail' });
    const refused = [udp, tcp, relay, bandwidth].some((result) => result.code === 'server-refused');
    if (refused) add({ code: 'server-busy', severity: [udp, tcp, relay].some(works) ? 'warn' : 'fail' });
    const rtt = [udp, tcp, relay].find(works)?.rttMs;
    if (rtt !== undefined && [udp, tcp, relay].every((path) => !works(path) || path.code === 'slow'))
      add({ code: 'rtt-high', severity: 'warn', params: { ms: Math.round(rtt) } });
    if (bandwidth.uploadBps !== undefined && bandwidth.code === 'slow') {
      if (bandwidth.uploadBps < LOW_BANDWIDTH_BPS) add({ code: 'upload-low', severity: 'warn', params: { rate: bandwidth.uploadBps } });
      if ((bandwidth.downloadBps ?? 0) < LOW_BANDWIDTH_BPS) add({ code: 'download-low', severity: 'warn', params: { rate: bandwidth.downloadBps ?? 0 } });
    }
  }

  const rank: Record<Severity, number> = { fail: 2, warn: 1, ok: 0 };
  findings.sort((a, b) => rank[b.severity] - rank[a.severity]);
  const overall = findings.reduce<Severity>((worst, finding) => (rank[finding.severity] > rank[worst] ? finding.severity : worst), 'ok');
  return { overall, findings };
}
