import type { Permission, RoomPolicy } from '../../../shared/moderation.js';
import type { Meeting } from '../conference/Meeting.js';
import { h, icon } from './dom.js';

type PermissionKey = 'screenShare' | 'chat' | 'files';

const TEXT = {
  lock: 'Lock meeting',
  unlock: 'Unlock meeting',
  locked: 'Locked: newcomers wait in the lobby until you let them in.',
  muteAll: 'Mute everyone',
  mutedAll: (count: number) => (count === 1 ? 'Muted 1 microphone' : `Muted ${count} microphones`),
  lowerHands: 'Lower all hands',
  permissions: 'Permissions',
  permission: { screenShare: 'Share their screen', chat: 'Chat', files: 'Send files' } satisfies Record<PermissionKey, string>,
  who: { everyone: 'Everyone', moderators: 'Hosts and moderators' } satisfies Record<Permission, string>,
  joinMuted: 'Newcomers join with their microphone off',
  end: 'End meeting',
  endQuestion: 'End the meeting for everyone?',
  endConfirm: 'End for everyone',
  cancel: 'Cancel',
};

const PERMISSION_KEYS: PermissionKey[] = ['screenShare', 'chat', 'files'];

/**
 * The meeting's own controls, for hosts and moderators: lock, mute everyone, lower all hands, who
 * may share the screen, chat and send files, join muted, and end the meeting (after a second
 * click). Automation hooks: `[data-meeting-controls]`, `[data-action="lock"]` (aria-pressed when
 * locked), `[data-action="mute-all"]`, `[data-action="lower-all-hands"]`, `select[data-policy]`
 * (screenShare, chat, files), `input[data-policy="joinMuted"]`, `[data-action="end-meeting"]` then
 * `[data-action="end-confirm"]`.
 */
export class MeetingControls {
  readonly element: HTMLElement;
  private readonly lock: HTMLButtonElement;
  private readonly lockLabel = h('span', {}, TEXT.lock);
  private readonly lockedNote: HTMLElement;
  private readonly selects: Record<PermissionKey, HTMLSelectElement>;
  private readonly joinMuted: HTMLInputElement;
  private readonly confirm: HTMLElement;

  constructor(
    private readonly meeting: Meeting,
    private readonly failed: (error: unknown) => void,
    notify: (message: string) => void,
  ) {
    this.lock = h('button', { class: 'small', 'data-action': 'lock', 'aria-pressed': 'false' }, icon('lock'), this.lockLabel);
    this.lock.addEventListener('click', () => this.change({ locked: !meeting.policy.locked }));
    const muteAll = h('button', { class: 'small', 'data-action': 'mute-all' }, TEXT.muteAll);
    muteAll.addEventListener('click', () => void meeting.muteAll().then((count) => notify(TEXT.mutedAll(count)), failed));
    const lowerHands = h('button', { class: 'small', 'data-action': 'lower-all-hands' }, TEXT.lowerHands);
    lowerHands.addEventListener('click', () => void meeting.lowerAllHands().catch(failed));
    this.lockedNote = h('p', { class: 'section-note', hidden: true }, TEXT.locked);

    this.selects = {
      screenShare: this.permissionSelect('screenShare'),
      chat: this.permissionSelect('chat'),
      files: this.permissionSelect('files'),
    };
    this.joinMuted = h('input', { type: 'checkbox', 'data-policy': 'joinMuted' });
    this.joinMuted.addEventListener('change', () => this.change({ joinMuted: this.joinMuted.checked }));
    const permissions = h(
      'details',
      { class: 'permissions' },
      h('summary', {}, TEXT.permissions),
      ...PERMISSION_KEYS.map((key) => h('label', { class: 'permission' }, h('span', {}, TEXT.permission[key]), this.selects[key])),
      h('label', { class: 'permission checkbox' }, this.joinMuted, h('span', {}, TEXT.joinMuted)),
    );

    const end = h('button', { class: 'small danger', 'data-action': 'end-meeting' }, TEXT.end);
    const endConfirm = h('button', { class: 'small danger', 'data-action': 'end-confirm' }, TEXT.endConfirm);
    const cancel = h('button', { class: 'small secondary', 'data-action': 'end-cancel' }, TEXT.cancel);
    this.confirm = h('div', { class: 'end-confirm', role: 'alertdialog', hidden: true }, h('p', {}, TEXT.endQuestion), endConfirm, cancel);
    end.addEventListener('click', () => (this.confirm.hidden = false));
    cancel.addEventListener('click', () => (this.confirm.hidden = true));
    endConfirm.addEventListener('click', () => {
      this.confirm.hidden = true;
      meeting.endMeeting().catch(failed);
    });

    this.element = h(
      'section',
      { class: 'panel-section meeting-controls', 'data-meeting-controls': '', hidden: true },
      h('div', { class: 'control-row' }, this.lock, muteAll, lowerHands),
      this.lockedNote,
      permissions,
      h('div', { class: 'control-row' }, end),
      this.confirm,
    );
  }

  /** Shows the rules as they are now; hidden for those who may not change them. */
  render(policy: RoomPolicy, visible: boolean): void {
    this.element.hidden = !visible;
    if (!visible) return;
    this.lock.setAttribute('aria-pressed', String(policy.locked));
    this.lockLabel.textContent = policy.locked ? TEXT.unlock : TEXT.lock;
    this.lockedNote.hidden = !policy.locked;
    for (const key of PERMISSION_KEYS) this.selects[key].value = policy[key];
    this.joinMuted.checked = policy.joinMuted;
  }

  private permissionSelect(key: PermissionKey): HTMLSelectElement {
    const select = h(
      'select',
      { 'data-policy': key, 'aria-label': TEXT.permission[key] },
      h('option', { value: 'everyone' }, TEXT.who.everyone),
      h('option', { value: 'moderators' }, TEXT.who.moderators),
    );
    select.addEventListener('change', () => this.change({ [key]: select.value === 'moderators' ? 'moderators' : 'everyone' }));
    return select;
  }

  private change(patch: Partial<RoomPolicy>): void {
    this.meeting.setPolicy(patch).catch((error: unknown) => {
      this.render(this.meeting.policy, true);
      this.failed(error);
    });
  }
}
