import { CheckPath, type CheckLimits, type CheckWelcome } from '../../../shared/check.js';
import { ConclaveError } from '../../../shared/errors.js';
import { CheckConnection } from './CheckConnection.js';
import { PathFailure, PathProbe } from './PathProbe.js';
import type { BandwidthResult, BaseResult, CheckCode, PathResult, SignallingResult } from './types.js';

/** A round trip above this makes conversation feel delayed. */
export const SLOW_RTT_MS = 300;
/** Below this either way, video suffers (a camera's three layers need about 1.8 Mbit/s up). */
export const LOW_BANDWIDTH_BPS = 1_000_000;
const SIGNALLING_PINGS = 3;

type NetworkResult = SignallingResult | PathResult | BandwidthResult;

/**
 * The connectivity part of the check: signalling (the check's own Socket.IO connection and its
 * round trip), then media over UDP, over TCP and through TURN (in parallel, each on its own
 * transport), then upload and download bandwidth over the best path that worked. Each result is
 * reported as soon as it is known; nothing here throws. Aborting `signal` closes the connection,
 * which ends what is under way, and nothing more is reported.
 */
export async function checkNetwork(serverUrl: string, token: string | undefined, report: (result: NetworkResult) => void, signal?: AbortSignal): Promise<void> {
  let opened;
  try {
    opened = await CheckConnection.open(serverUrl, token, signal);
  } catch (error) {
    if (signal?.aborted) return;
    report({ id: 'signalling', status: 'fail', code: 'unreachable', detail: messageOf(error) });
    skipRest(report, 'unreachable');
    return;
  }
  const { connection, welcome } = opened;
  const live = (result: NetworkResult): void => {
    if (!signal?.aborted) report(result);
  };
  try {
    await measure(connection, welcome, live, signal);
  } finally {
    connection.close();
  }
}

async function measure(connection: CheckConnection, welcome: CheckWelcome, report: (result: NetworkResult) => void, signal?: AbortSignal): Promise<void> {
  let rttMs;
  try {
    rttMs = await signallingRoundTrip(connection);
  } catch (error) {
    // Connected, but the requests get no answer: as far as a call is concerned, the server is out of reach.
    report({ id: 'signalling', status: 'fail', code: 'unreachable', detail: messageOf(error) });
    skipRest(report, 'unreachable');
    return;
  }
  const facts = { rttMs, serverVersion: welcome.serverVersion, turnConfigured: welcome.turn, tokenRequired: welcome.tokenRequired };
  if (!welcome.authorized) {
    const code: CheckCode = welcome.tokenProblem ? 'token-invalid' : 'token-needed';
    report({ id: 'signalling', status: 'warn', code, ...facts, ...(welcome.tokenProblem ? { detail: welcome.tokenProblem } : {}) });
    skipRest(report, code);
    return;
  }
  report({ id: 'signalling', status: 'pass', code: 'ok', ...facts });
  let refused = false;
  const noting = (result: NetworkResult): void => {
    refused ||= result.code === 'server-refused';
    report(result);
  };
  const probes = await Promise.all(CheckPath.options.map((path) => probePath(connection, path, welcome.turn, welcome.limits, noting, signal)));
  try {
    const best = probes.find((probe) => probe !== undefined);
    if (signal?.aborted) return;
    // With no path, bandwidth is untested: because none connects, or because the server refused one that might have.
    if (!best) report({ id: 'bandwidth', status: 'skip', code: refused ? 'server-refused' : 'no-path' });
    else report(await bandwidth(best, welcome.limits));
  } finally {
    for (const probe of probes) probe?.probe.close();
  }
}

async function signallingRoundTrip(connection: CheckConnection): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SIGNALLING_PINGS; i++) {
    const sent = performance.now();
    await connection.request('ping', {});
    times.push(performance.now() - sent);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] ?? 0) * 10) / 10;
}

async function probePath(
  connection: CheckConnection,
  path: CheckPath,
  turn: boolean,
  limits: CheckLimits,
  report: (result: NetworkResult) => void,
  signal?: AbortSignal,
): Promise<{ path: CheckPath; probe: PathProbe } | undefined> {
  if (path === 'relay' && !turn) {
    report({ id: path, status: 'skip', code: 'not-configured' });
    return undefined;
  }
  report({ id: path, status: 'running', code: 'ok' });
  let probe: PathProbe | undefined;
  try {
    probe = await PathProbe.open(connection, path, limits, signal);
    const rttMs = await probe.roundTrip();
    const pair = await probe.selectedPair();
    const slow = rttMs > SLOW_RTT_MS;
    report({ id: path, status: slow ? 'warn' : 'pass', code: slow ? 'slow' : 'ok', rttMs, connectMs: probe.connectMs, ...(pair ? { pair } : {}) });
    return { path, probe };
  } catch (error) {
    probe?.close();
    report({ id: path, status: 'fail', ...failureOf(error) });
    return undefined;
  }
}

async function bandwidth({ path, probe }: { path: CheckPath; probe: PathProbe }, limits: CheckLimits): Promise<BandwidthResult> {
  try {
    const uploadBps = await probe.upload(limits);
    const downloadBps = await probe.download(limits);
    const slow = uploadBps < LOW_BANDWIDTH_BPS || downloadBps < LOW_BANDWIDTH_BPS;
    return { id: 'bandwidth', status: slow ? 'warn' : 'pass', code: slow ? 'slow' : 'ok', path, uploadBps, downloadBps };
  } catch (error) {
    return { id: 'bandwidth', status: 'fail', path, ...failureOf(error) };
  }
}

function skipRest(report: (result: NetworkResult) => void, code: CheckCode): void {
  for (const path of CheckPath.options) report({ id: path, status: 'skip', code });
  report({ id: 'bandwidth', status: 'skip', code });
}

/**
 * Why a step failed. A refusal the server answered over signalling (busy, restarting, its own
 * error) is kept apart from the path not connecting: it says nothing about the person's network.
 */
function failureOf(error: unknown): Pick<BaseResult, 'code' | 'detail' | 'serverCode'> {
  const detail = messageOf(error);
  if (error instanceof PathFailure) return { code: error.code, detail };
  if (error instanceof ConclaveError && error.code === 'UNSUPPORTED') return { code: 'not-configured', detail };
  if (error instanceof ConclaveError) return { code: 'server-refused', serverCode: error.code, detail };
  return { code: 'error', detail };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
