import type { Role } from '../../../shared/roles.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import type { ParticipantAction } from '../conference/permissions.js';
import { label, localize, msg, type Msg } from '../i18n/i18n.js';
import { h, icon } from './dom.js';
import { KnockList } from './KnockList.js';
import { MeetingControls } from './MeetingControls.js';
import { participantRow, type ParticipantRowModel } from './ParticipantRow.js';
import { RecordingControls } from './RecordingControls.js';

/** Beyond this many people the list gets a search box. */
const SEARCH_ABOVE = 8;
const ROLE_ORDER: Record<Role, number> = { host: 0, moderator: 1, participant: 2 };

/**
 * The side panel of everyone in the call: name, role, microphone, camera and screen, raised hand
 * (with its place in the queue) and connection; a search box once the room is big; per person a
 * menu of what the viewer may do to them. Hosts and moderators also get the lobby (who waits) and
 * the meeting's controls, recording and live streaming included. Automation hooks: `[data-participants-panel]`,
 * `ul[data-participants-list]`, `input[data-participant-search]`; the rows' and sections' own
 * (ParticipantRow, KnockList, MeetingControls, RecordingControls).
 */
export class ParticipantsPanel {
  readonly element: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly empty: HTMLElement;
  private readonly knocks: KnockList;
  private readonly controls: MeetingControls;
  private readonly recording: RecordingControls;
  private menuFor: string | null = null;
  private scheduled = false;

  constructor(
    private readonly client: ConferenceClient,
    onClose: () => void,
    private readonly failed: (error: unknown) => void,
    notify: (message: Msg) => void,
  ) {
    this.heading = h('h2', {}, msg('meeting.participants'));
    const close = h('button', { type: 'button', class: 'panel-close' }, icon('close'));
    label(close, msg('meeting.panel.close'));
    close.addEventListener('click', onClose);
    this.search = h('input', {
      type: 'search',
      class: 'participant-search',
      placeholder: msg('meeting.panel.search'),
      'aria-label': msg('meeting.panel.search'),
      'data-participant-search': '',
      hidden: true,
    });
    this.search.addEventListener('input', () => this.render());
    this.list = h('ul', { class: 'participant-list', 'data-participants-list': '' });
    this.empty = h('p', { class: 'section-note', hidden: true }, msg('meeting.panel.noMatch'));
    this.knocks = new KnockList(client.meeting, failed);
    this.controls = new MeetingControls(client.meeting, failed, notify);
    this.recording = new RecordingControls(client.meeting.recording, failed);
    this.element = h(
      'aside',
      { class: 'participants-panel', 'aria-label': msg('meeting.participants'), 'data-participants-panel': '', hidden: true },
      h('header', { class: 'panel-header' }, this.heading, close),
      h('div', { class: 'panel-body' }, this.knocks.element, this.controls.element, this.recording.element, this.search, this.list, this.empty),
    );
    const render = (): void => this.render();
    const changes = [
      'participantJoined',
      'participantLeft',
      'participantUpdated',
      'selfUpdated',
      'localMediaChanged',
      'lobbyChanged',
      'policyChanged',
      'connectionState',
      'recordingStatus',
    ] as const;
    for (const event of changes) client.on(event, render);
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  setOpen(open: boolean): void {
    this.element.hidden = !open;
    if (open) this.render();
    else this.menuFor = null;
  }

  /** Redraws once for any number of changes in the same task; nothing while closed. */
  render(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.isOpen) this.draw();
    });
  }

  private draw(): void {
    const { meeting } = this.client;
    const rows = this.rows();
    localize(this.heading, 'text', msg('meeting.panel.heading', { count: rows.length }));
    this.knocks.render(meeting.moderating ? meeting.knocks : []);
    this.controls.render(meeting.policy, meeting.moderating);
    this.recording.render(meeting.recording.status, meeting.moderating);
    this.search.hidden = rows.length <= SEARCH_ABOVE;
    if (this.search.hidden) this.search.value = '';
    const query = this.search.value.trim().toLocaleLowerCase();
    const shown = query === '' ? rows : rows.filter((row) => row.name.toLocaleLowerCase().includes(query));
    if (this.menuFor !== null && !shown.some((row) => row.id === this.menuFor && row.actions.length > 0)) this.menuFor = null;
    const hooks = {
      toggleMenu: (peerId: string) => this.toggleMenu(peerId),
      perform: (peerId: string, action: ParticipantAction) => this.perform(peerId, action),
    };
    this.list.replaceChildren(...shown.map((row) => participantRow(row, row.id === this.menuFor, hooks)));
    this.empty.hidden = shown.length > 0;
  }

  /** Ourselves first, then hosts, moderators and participants, each in the order they came. */
  private rows(): ParticipantRowModel[] {
    const { client } = this;
    const { meeting, self, local } = client;
    const others = [...client.participants.values()]
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.joinedAt - b.joinedAt)
      .map((participant) => {
        const { mic, camera, screen } = participant.tracks;
        return {
          id: participant.id,
          name: participant.displayName,
          isSelf: false,
          role: participant.role,
          hand: meeting.handPosition(participant.id),
          micOn: mic !== undefined && !mic.paused,
          cameraOn: camera !== undefined && !camera.paused,
          sharingScreen: screen !== undefined,
          reconnecting: participant.reconnecting,
          actions: meeting.actionsOn(participant.id),
        };
      });
    if (!self) return others;
    const own: ParticipantRowModel = {
      id: self.id,
      name: self.displayName,
      isSelf: true,
      role: self.role,
      hand: meeting.handPosition(self.id),
      micOn: local.mic.enabled,
      cameraOn: local.camera.enabled,
      sharingScreen: local.screen.enabled,
      reconnecting: client.connectionState === 'reconnecting',
      actions: [],
    };
    return [own, ...others];
  }

  private toggleMenu(peerId: string): void {
    this.menuFor = this.menuFor === peerId ? null : peerId;
    this.render();
  }

  private perform(peerId: string, action: ParticipantAction): void {
    this.menuFor = null;
    this.render();
    this.client.meeting.perform(peerId, action).catch(this.failed);
  }
}
