import { exposeAutomation } from './automation.js';
import { isCheckPage, showCheckPage } from './check/route.js';
import { ConferenceClient } from './conference/ConferenceClient.js';
import { mediaAvailable } from './conference/media.js';
import { onLanguageChange, t, type Msg } from './i18n/i18n.js';
import { endedView } from './ui/EndedView.js';
import { insecureContextText } from './ui/explain.js';
import { LobbyView } from './ui/LobbyView.js';
import { PrejoinView, savedDevice } from './ui/PrejoinView.js';
import { RoomView } from './ui/RoomView.js';
import { DEFAULT_LAST_N } from './ui/TileArea.js';
import { validateJoin } from './ui/validation.js';

const app = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

/** The page's title in the current language, now and after every change. */
function titleFrom(render: () => string): void {
  document.title = render();
  onLanguageChange(() => (document.title = render()));
}

// A ?lang= in the URL outranks the saved choice: keep it in step, so a reload keeps the language picked.
onLanguageChange((next) => {
  const url = new URL(location.href);
  if (!url.searchParams.has('lang')) return;
  url.searchParams.set('lang', next);
  history.replaceState(history.state, '', url);
});

function showPrejoin(error?: Msg): void {
  titleFrom(() => t('prejoin.pageTitle'));
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
  const view = new RoomView(client, (problem) => app.replaceChildren(endedView(client.farewell, problem)), {
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
  titleFrom(() => t('room.pageTitle', { room: roomId }));
  const joined = client.join();
  exposeAutomation(client, joined);
  // The view shows join failures and refusals (the client moves to 'left' with the reason).
  joined.catch(() => undefined);
}

const room = params.get('room');
const name = params.get('name');
if (isCheckPage()) {
  showCheckPage(app);
} else if (room !== null && name !== null) {
  const checked = validateJoin(room, name);
  if ('problem' in checked) showPrejoin(checked.problem);
  else startConference(checked.room, checked.name);
} else {
  showPrejoin(mediaAvailable() ? undefined : insecureContextText());
}
