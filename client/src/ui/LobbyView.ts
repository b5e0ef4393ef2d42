import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { h } from './dom.js';

const TEXT = {
  title: (room: string) => `Waiting to join ${room}`,
  joiningAs: (name: string) => `You will join as ${name}.`,
  hostPresent: 'Waiting for a host to let you in…',
  noHost: 'No host or moderator is here yet. You will be let in once one arrives and admits you.',
  leave: 'Leave',
};

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
    const leave = h('button', { class: 'secondary', 'data-action': 'lobby-leave' }, TEXT.leave);
    leave.addEventListener('click', () => void client.leave());
    this.video.muted = true;
    this.element = h(
      'div',
      { class: 'lobby-view', 'data-lobby-view': '' },
      h('div', { class: 'preview' }, this.video),
      h('div', { class: 'lobby-text' }, h('h1', {}, TEXT.title(client.roomId)), h('p', {}, TEXT.joiningAs(client.options.displayName)), this.status, leave),
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
    this.status.textContent = present ? TEXT.hostPresent : TEXT.noHost;
    const track = this.client.local.camera.track;
    const current = this.video.srcObject instanceof MediaStream ? this.video.srcObject.getVideoTracks()[0] : undefined;
    if (track === current || (!track && !current)) return;
    this.video.srcObject = track ? new MediaStream([track]) : null;
  }
}
