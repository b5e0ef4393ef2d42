import type { Role } from '../../../shared/roles.js';
import type { ParticipantAction } from '../conference/permissions.js';
import { label, msg, type Msg } from '../i18n/i18n.js';
import { h, hueFor, icon, initials } from './dom.js';

const ROLE_NAMES = { host: 'meeting.role.host', moderator: 'meeting.role.moderator', participant: null } as const satisfies Record<Role, string | null>;

const ACTION_NAMES = {
  muteMic: 'meeting.action.muteMic',
  stopCamera: 'meeting.action.stopCamera',
  stopScreen: 'meeting.action.stopScreen',
  askToUnmute: 'meeting.action.askToUnmute',
  lowerHand: 'meeting.action.lowerHand',
  makeModerator: 'meeting.action.makeModerator',
  revokeModerator: 'meeting.action.revokeModerator',
  remove: 'meeting.action.remove',
  ban: 'meeting.action.ban',
} as const satisfies Record<ParticipantAction, string>;

/** One person as the participants list shows them. */
export interface ParticipantRowModel {
  id: string;
  name: string;
  isSelf: boolean;
  role: Role;
  /** Place in the queue of raised hands, or null. */
  hand: number | null;
  micOn: boolean;
  cameraOn: boolean;
  sharingScreen: boolean;
  reconnecting: boolean;
  /** What the viewer may do to them (empty: no menu). */
  actions: ParticipantAction[];
}

export interface RowHooks {
  toggleMenu(peerId: string): void;
  perform(peerId: string, action: ParticipantAction): void;
}

/**
 * A row of the participants list. Automation hooks: `li[data-participant]` with `data-peer-id`,
 * `data-role`, `data-mic`/`data-camera` ("on"/"off"), `data-screen`, `data-hand` (queue position),
 * `data-reconnecting`; its `[data-action="participant-menu"]` opens `[data-participant-menu]`
 * whose buttons carry `data-participant-action` (a ParticipantAction).
 */
export function participantRow(row: ParticipantRowModel, menuOpen: boolean, hooks: RowHooks): HTMLLIElement {
  const avatar = h('span', { class: 'participant-avatar', 'aria-hidden': 'true' }, initials(row.name));
  avatar.style.setProperty('--hue', String(hueFor(row.name)));
  const roleName = ROLE_NAMES[row.role];
  const who = h(
    'span',
    { class: 'participant-who' },
    h('span', { class: 'participant-name' }, row.isSelf ? msg('meeting.row.you', { name: row.name }) : row.name),
    roleName ? h('span', { class: `role-badge ${row.role}`, 'data-role-badge': row.role }, msg(roleName)) : null,
    row.reconnecting ? h('span', { class: 'participant-note' }, msg('meeting.row.reconnecting')) : null,
  );
  let hand: HTMLElement | null = null;
  if (row.hand !== null) {
    hand = h('span', { class: 'participant-hand' }, icon('hand'), String(row.hand));
    label(hand, msg('meeting.row.hand', { position: row.hand }));
  }
  const state = h(
    'span',
    { class: 'participant-media' },
    stateIcon(row.micOn ? 'mic' : 'micOff', msg(row.micOn ? 'meeting.row.micOn' : 'meeting.row.micOff'), !row.micOn),
    stateIcon(row.cameraOn ? 'camera' : 'cameraOff', msg(row.cameraOn ? 'meeting.row.cameraOn' : 'meeting.row.cameraOff'), !row.cameraOn),
    row.sharingScreen ? stateIcon('screen', msg('meeting.row.screen'), false) : null,
  );
  const item = h(
    'li',
    {
      class: 'participant',
      'data-participant': '',
      'data-peer-id': row.id,
      'data-role': row.role,
      'data-mic': row.micOn ? 'on' : 'off',
      'data-camera': row.cameraOn ? 'on' : 'off',
      'data-screen': row.sharingScreen,
      'data-hand': row.hand === null ? undefined : String(row.hand),
      'data-reconnecting': row.reconnecting,
      'data-self': row.isSelf,
    },
    avatar,
    who,
    hand,
    state,
  );
  if (row.actions.length === 0) return item;
  const menuButton = h('button', { class: 'participant-menu-button', 'data-action': 'participant-menu', 'aria-expanded': String(menuOpen) }, icon('more'));
  label(menuButton, msg('meeting.row.menu', { name: row.name }));
  menuButton.addEventListener('click', () => hooks.toggleMenu(row.id));
  item.append(menuButton);
  if (!menuOpen) return item;
  const menu = h('div', { class: 'participant-menu', role: 'menu', 'data-participant-menu': '' });
  for (const action of row.actions) {
    const button = h(
      'button',
      { role: 'menuitem', class: action === 'ban' || action === 'remove' ? 'danger-text' : undefined, 'data-participant-action': action },
      msg(ACTION_NAMES[action]),
    );
    button.addEventListener('click', () => hooks.perform(row.id, action));
    menu.append(button);
  }
  item.append(menu);
  return item;
}

function stateIcon(name: 'mic' | 'micOff' | 'camera' | 'cameraOff' | 'screen', text: Msg, off: boolean): HTMLElement {
  const element = h('span', { class: off ? 'state-icon off' : 'state-icon', role: 'img' }, icon(name));
  label(element, text);
  return element;
}
