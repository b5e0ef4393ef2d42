import { DisplayName, firstIssue, RoomId } from '../../shared/identity.js';
import { exposeAutomation } from './automation.js';
import { ConferenceClient } from './conference/ConferenceClient.js';
import { insecureContextMessage } from './conference/media.js';
import { endedView } from './ui/EndedView.js';
import { LobbyView } from './ui/LobbyView.js';
import { PrejoinView, savedDevice } from './ui/PrejoinView.js';
import { RoomView } from './ui/RoomView.js';
import { DEFAULT_LAST_N } from './ui/TileArea.js';

const app = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

function showPrejoin(error?: string): void {
  app.replaceChildren(new PrejoinView({ room: params.get('room') ?? '', name: params.get('name') ?? '', error }).element);
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
    lobby: params.get('lobby') === '1',
    adaptiveVideo: params.get('adaptive') !== '0',
  });
  // Closing the tab is leaving: tell the server now rather than letting the reconnect grace run.
  window.addEventListener('pagehide', () => client.leaveOnUnload());
  // Back to this tab from the browser's page cache: that call was left on the way out; join afresh.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  const view = new RoomView(client, (reason) => app.replaceChildren(endedView(client.farewell, reason)), {
    lastN: positiveInteger(params.get('lastN')) ?? DEFAULT_LAST_N,
    pageSize: positiveInteger(params.get('pageSize')),
  });
  app.replaceChildren(view.element);
  // A locked meeting: the lobby's waiting screen until someone lets us in (the room view's own
  // listener, registered first, has shown the end by the time a 'left' gets here).
  let lobby: LobbyView | null = null;
  client.on('connectionState', (state) => {
    if (state === 'waiting' && !lobby) {
      lobby = new LobbyView(client);
      app.replaceChildren(lobby.element);
    } else if (state !== 'waiting' && lobby) {
      lobby.destroy();
      lobby = null;
      if (state !== 'left') app.replaceChildren(view.element);
    }
  });
  document.title = `${roomId} · Conclave`;
  const joined = client.join();
  exposeAutomation(client, joined);
  // The view shows join failures and refusals (the client moves to 'left' with the reason).
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
