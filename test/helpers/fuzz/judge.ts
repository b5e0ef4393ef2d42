import { ErrorCode } from '../../../shared/errors.js';

/** The answers the server may give, decided before a request is sent, and the check of an answer against them. */

/** What the server may answer to one request, decided before it is sent. */
export type Expectation =
  | { outcome: 'ok'; why: string }
  | { outcome: 'error'; codes: readonly ErrorCode[]; why: string }
  | { outcome: 'either'; codes: readonly ErrorCode[]; why: string };

const ERROR_CODES: readonly string[] = Object.values(ErrorCode);

/** Problems with one acknowledgement against its expectation; empty when it is acceptable. */
export function judge(event: string | number, expected: Expectation, answers: readonly unknown[] | undefined): string[] {
  if (answers === undefined) return ['no acknowledgement within the timeout'];
  if (answers.length !== 1) return [`acknowledged with ${answers.length} arguments`];
  const answer = answers[0];
  const shown = (): string => JSON.stringify(answer)?.slice(0, 300) ?? String(answer);
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return [`malformed acknowledgement ${shown()}`];
  const keys = Object.keys(answer).sort().join(',');
  if (!('ok' in answer) || (answer.ok !== true && answer.ok !== false)) return [`malformed acknowledgement ${shown()}`];
  if (answer.ok === true) {
    if (keys !== 'data,ok') return [`malformed success ${shown()}`];
    if (expected.outcome === 'error') return [`ok:true, but expected ${expected.codes.join('|')} (${expected.why})`];
    const shapeProblem = successShapeProblem(String(event), 'data' in answer ? answer.data : undefined);
    return shapeProblem ? [`${shapeProblem}: ${shown()}`] : [];
  }
  if (keys !== 'error,ok' || !('error' in answer)) return [`malformed failure ${shown()}`];
  const error = answer.error;
  if (typeof error !== 'object' || error === null || Object.keys(error).sort().join(',') !== 'code,message' || !('code' in error) || !('message' in error)) {
    return [`malformed error ${shown()}`];
  }
  const problems: string[] = [];
  if (typeof error.code !== 'string' || !ERROR_CODES.includes(error.code)) problems.push(`untyped error code ${shown()}`);
  if (typeof error.message !== 'string' || error.message.trim() === '') problems.push(`empty error message ${shown()}`);
  else if (error.message.length > 1_000) problems.push(`error message of ${error.message.length} characters (echoes the request?)`);
  if (expected.outcome === 'ok') problems.push(`expected ok:true (${expected.why}), got ${shown()}`);
  else if (typeof error.code === 'string' && !(expected.codes as readonly string[]).includes(error.code)) {
    problems.push(`expected ${expected.outcome === 'either' ? 'ok or ' : ''}${expected.codes.join('|')} (${expected.why}), got ${shown()}`);
  }
  return problems;
}

function successShapeProblem(event: string, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return 'success without a data object';
  const keys = Object.keys(data).sort().join(',');
  switch (event) {
    case 'join':
      return 'sendTransport' in data && 'recvTransport' in data && 'self' in data && 'resumeToken' in data ? undefined : 'join answer without transports';
    case 'produce':
      return 'producerId' in data && typeof data.producerId === 'string' && keys === 'producerId' ? undefined : 'produce answer without a producerId';
    case 'restartIce':
      return keys === 'iceParameters' ? undefined : 'restartIce answer without iceParameters';
    case 'produceData':
      return keys === 'dataProducerId' ? undefined : 'produceData answer without a dataProducerId';
    case 'dataSync':
      return keys === 'board,chat,maxFileBytes,seq' ? undefined : 'dataSync answer without the history';
    case 'offerFile':
      return keys === 'chunkBytes,fileId,windowBytes' ? undefined : 'offerFile answer without a fileId';
    case 'muteAll':
      return keys === 'muted' ? undefined : 'muteAll answer without a count';
    case 'setPolicy':
      return keys === 'policy' ? undefined : 'setPolicy answer without the policy';
    case 'answerKnocks':
      return keys === 'answered' ? undefined : 'answerKnocks answer without a count';
    default:
      return keys === '' ? undefined : `unexpected data for ${event}`;
  }
}
