import type { Role } from '../../../shared/roles.js';
import type { ParticipantAction } from '../conference/permissions.js';
import { h, hueFor, icon, initials } from './dom.js';

const TEXT = {
  you: ' (you)',
  roles: { host: 'Host', moderator: 'Moderator', participant: '' } satisfies Record<Role, string>,
  reconnecting: 'Reconnecting…',
  hand: (position: number) => `Hand raised (${position} in the queue)`,
  micOn: 'Microphone on',
  micOff: 'Microphone off',
  cameraOn: 'Camera on',
  cameraOff: 'Camera off',
  screen: 'Sharing the screen',
  menu: (name: string) => `Actions for ${name}`,
  actions: {
    muteMic: 'Mute microphone',
    stopCamera: 'Stop camera',
    stopScreen: 'Stop screen share',
    askToUnmute: 'Ask to unmute',
    lowerHand: 'Lower hand',
    makeModerator: 'Make moderator',
    revokeModerator: 'Take back moderator',
    remove: 'Remove from the meeting',
    ban: 'Remove and ban',
  } satisfies Record<ParticipantAction, string>,
};

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
  const roleText = TEXT.roles[row.role];
  const who = h(
    'span',
    { class: 'participant-who' },
    h('span', { class: 'participant-name' }, row.name + (row.isSelf ? TEXT.you : '')),
    roleText ? h('span', { class: `role-badge ${row.role}`, 'data-role-badge': row.role }, roleText) : null,
    row.reconnecting ? h('span', { class: 'participant-note' }, TEXT.reconnecting) : null,
  );
  const hand =
    row.hand === null
      ? null
      : h('span', { class: 'participant-hand', title: TEXT.hand(row.hand), 'aria-label': TEXT.hand(row.hand) }, icon('hand'), String(row.hand));
  const state = h(
    'span',
    { class: 'participant-media' },
    stateIcon(row.micOn ? 'mic' : 'micOff', row.micOn ? TEXT.micOn : TEXT.micOff, !row.micOn),
    stateIcon(row.cameraOn ? 'camera' : 'cameraOff', row.cameraOn ? TEXT.cameraOn : TEXT.cameraOff, !row.cameraOn),
    row.sharingScreen ? stateIcon('screen', TEXT.screen, false) : null,
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
  const menuButton = h(
    'button',
    {
      class: 'participant-menu-button',
      'data-action': 'participant-menu',
      'aria-expanded': String(menuOpen),
      'aria-label': TEXT.menu(row.name),
      title: TEXT.menu(row.name),
    },
    icon('more'),
  );
  menuButton.addEventListener('click', () => hooks.toggleMenu(row.id));
  item.append(menuButton);
  if (!menuOpen) return item;
  const menu = h('div', { class: 'participant-menu', role: 'menu', 'data-participant-menu': '' });
  for (const action of row.actions) {
    const button = h(
      'button',
      { role: 'menuitem', class: action === 'ban' || action === 'remove' ? 'danger-text' : undefined, 'data-participant-action': action },
      TEXT.actions[action],
    );
    button.addEventListener('click', () => hooks.perform(row.id, action));
    menu.append(button);
  }
  item.append(menu);
  return item;
}

function stateIcon(name: 'mic' | 'micOff' | 'camera' | 'cameraOff' | 'screen', label: string, off: boolean): HTMLElement {
  return h('span', { class: off ? 'state-icon off' : 'state-icon', title: label, role: 'img', 'aria-label': label }, icon(name));
}
