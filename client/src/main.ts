import { DisplayName, firstIssue, RoomId } from '../../shared/identity.js';
import { exposeAutomation } from './automation.js';
import { ConferenceClient } from './conference/ConferenceClient.js';
import { insecureContextMessage } from './conference/media.js';
import { h } from './ui/dom.js';
import { PrejoinView, savedDevice } from './ui/PrejoinView.js';
import { RoomView } from './ui/RoomView.js';
import { DEFAULT_LAST_N } from './ui/TileArea.js';

const app = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

function showPrejoin(error?: string): void {
  app.replaceChildren(new PrejoinView({ room: params.get('room') ?? '', name: params.get('name') ?? '', error }).element);
}

function showEnded(title: string, detail?: string): void {
  const rejoin = h('button', { class: 'primary' }, 'Rejoin');
  rejoin.addEventListener('click', () => location.reload());
  const home = h('a', { href: '/' }, 'Choose another room');
  app.replaceChildren(h('div', { class: 'ended' }, h('h1', {}, title), detail ? h('p', {}, detail) : null, h('div', { class: 'actions' }, rejoin, home)));
}

/** A whole number ≥ 1 from the URL, or null when absent or not one. */
function positiveInteger(raw: string | null): number | null {
  const value = Number(raw);
  return raw !== null && Number.isInteger(value) && value >= 1 ? value : null;
}

function startConference(roomId: string, displayName: string): void {
  const client = new ConferenceClient({
    roomId,
    displayName,
    mic: params.get('mic') !== '0',
    cam: params.get('cam') !== '0',
    micDeviceId: savedDevice('mic'),
    cameraDeviceId: savedDevice('camera'),
    relayOnly: params.get('relay') === '1',
    token: params.get('token') ?? undefined,
    adaptiveVideo: params.get('adaptive') !== '0',
  });
  // Closing the tab is leaving: tell the server now rather than letting the reconnect grace run.
  window.addEventListener('pagehide', () => client.leaveOnUnload());
  // Back to this tab from the browser's page cache: that call was left on the way out; join afresh.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  const view = new RoomView(client, (reason) => showEnded(reason ? 'Could not join' : 'You left the room', reason), {
    lastN: positiveInteger(params.get('lastN')) ?? DEFAULT_LAST_N,
    pageSize: positiveInteger(params.get('pageSize')),
  });
  app.replaceChildren(view.element);
  document.title = `${roomId} · Conclave`;
  const joined = client.join();
  exposeAutomation(client, joined);
  // The view shows join failures (the client moves to 'left' with the reason).
  joined.catch(() => undefined);
}

const room = params.get('room');
const name = params.get('name');
if (room !== null && name !== null) {
  const roomCheck = RoomId.safeParse(room);
  const nameCheck = DisplayName.safeParse(name);
  if (!roomCheck.success) showPrejoin(firstIssue(roomCheck.error));
  else if (!nameCheck.success) showPrejoin(firstIssue(nameCheck.error));
  else startConference(roomCheck.data, nameCheck.data);
} else {
  showPrejoin(window.isSecureContext ? undefined : insecureContextMessage());
}
