import type { Permission, RoomPolicy } from '../../../shared/moderation.js';
import type { Meeting } from '../conference/Meeting.js';
import { computed, localize, msg, plural, type Msg } from '../i18n/i18n.js';
import { h, icon } from './dom.js';

type PermissionKey = 'screenShare' | 'chat' | 'files';

const PERMISSION_NAMES = {
  screenShare: 'meeting.controls.permission.screenShare',
  chat: 'meeting.controls.permission.chat',
  files: 'meeting.controls.permission.files',
} as const satisfies Record<PermissionKey, string>;

const WHO_NAMES = { everyone: 'meeting.controls.who.everyone', moderators: 'meeting.controls.who.moderators' } as const satisfies Record<Permission, string>;

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
  private readonly lockLabel = h('span', {}, msg('meeting.controls.lock'));
  private readonly lockedNote: HTMLElement;
  private readonly selects: Record<PermissionKey, HTMLSelectElement>;
  private readonly joinMuted: HTMLInputElement;
  private readonly confirm: HTMLElement;

  constructor(
    private readonly meeting: Meeting,
    private readonly failed: (error: unknown) => void,
    notify: (message: Msg) => void,
  ) {
    this.lock = h('button', { class: 'small', 'data-action': 'lock', 'aria-pressed': 'false' }, icon('lock'), this.lockLabel);
    this.lock.addEventListener('click', () => this.change({ locked: !meeting.policy.locked }));
    const muteAll = h('button', { class: 'small', 'data-action': 'mute-all' }, msg('meeting.controls.muteAll'));
    muteAll.addEventListener('click', () => void meeting.muteAll().then((count) => notify(computed(() => plural('meeting.controls.mutedAll', count))), failed));
    const lowerHands = h('button', { class: 'small', 'data-action': 'lower-all-hands' }, msg('meeting.controls.lowerHands'));
    lowerHands.addEventListener('click', () => void meeting.lowerAllHands().catch(failed));
    this.lockedNote = h('p', { class: 'section-note', hidden: true }, msg('meeting.controls.locked'));

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
      h('summary', {}, msg('meeting.controls.permissions')),
      ...PERMISSION_KEYS.map((key) => h('label', { class: 'permission' }, h('span', {}, msg(PERMISSION_NAMES[key])), this.selects[key])),
      h('label', { class: 'permission checkbox' }, this.joinMuted, h('span', {}, msg('meeting.controls.joinMuted'))),
    );

    const end = h('button', { class: 'small danger', 'data-action': 'end-meeting' }, msg('meeting.controls.end'));
    const endConfirm = h('button', { class: 'small danger', 'data-action': 'end-confirm' }, msg('meeting.controls.endConfirm'));
    const cancel = h('button', { class: 'small secondary', 'data-action': 'end-cancel' }, msg('common.cancel'));
    this.confirm = h('div', { class: 'end-confirm', role: 'alertdialog', hidden: true }, h('p', {}, msg('meeting.controls.endQuestion')), endConfirm, cancel);
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
    localize(this.lockLabel, 'text', msg(policy.locked ? 'meeting.controls.unlock' : 'meeting.controls.lock'));
    this.lockedNote.hidden = !policy.locked;
    for (const key of PERMISSION_KEYS) this.selects[key].value = policy[key];
    this.joinMuted.checked = policy.joinMuted;
  }

  private permissionSelect(key: PermissionKey): HTMLSelectElement {
    const select = h(
      'select',
      { 'data-policy': key, 'aria-label': msg(PERMISSION_NAMES[key]) },
      h('option', { value: 'everyone' }, msg(WHO_NAMES.everyone)),
      h('option', { value: 'moderators' }, msg(WHO_NAMES.moderators)),
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
