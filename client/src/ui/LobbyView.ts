import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { localize, msg } from '../i18n/i18n.js';
import { h } from './dom.js';
import { languagePicker } from './LanguagePicker.js';

/**
 * The screen while we wait in a locked meeting's lobby: our name, our own camera, whether anyone
 * who can let us in is there, and a way out. Automation hooks: `[data-lobby-view]` with
 * `data-moderators-present` ("true"/"false"), `[data-lobby-status]`, `[data-action="lobby-leave"]`.
 */
export class LobbyView {
  readonly element: HTMLElement;
  private readonly video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'preview-video' });
  private readonly status = h('p', { class: 'lobby-status', role: 'status', 'data-lobby-status': '' });
  private readonly render = (): void => this.draw();

  constructor(private readonly client: ConferenceClient) {
    const leave = h('button', { class: 'secondary', 'data-action': 'lobby-leave' }, msg('prejoin.lobby.leave'));
    leave.addEventListener('click', () => void client.leave());
    this.video.muted = true;
    this.element = h(
      'div',
      { class: 'lobby-view', 'data-lobby-view': '' },
      h('div', { class: 'preview' }, this.video),
      h(
        'div',
        { class: 'lobby-text' },
        h('h1', {}, msg('prejoin.lobby.title', { room: client.roomId })),
        h('p', {}, msg('prejoin.lobby.joiningAs', { name: client.options.displayName })),
        this.status,
        leave,
        languagePicker(),
      ),
    );
    client.on('lobbyStatus', this.render);
    client.on('localMediaChanged', this.render);
    this.draw();
  }

  /** The view is going away (admitted, or the call ended). */
  destroy(): void {
    this.client.off('lobbyStatus', this.render);
    this.client.off('localMediaChanged', this.render);
    this.video.srcObject = null;
  }

  private draw(): void {
    const present = this.client.waiting?.moderatorsPresent ?? false;
    this.element.dataset.moderatorsPresent = String(present);
    localize(this.status, 'text', msg(present ? 'prejoin.lobby.hostPresent' : 'prejoin.lobby.noHost'));
    const track = this.client.local.camera.track;
    const current = this.video.srcObject instanceof MediaStream ? this.video.srcObject.getVideoTracks()[0] : undefined;
    if (track === current || (!track && !current)) return;
    this.video.srcObject = track ? new MediaStream([track]) : null;
  }
}
