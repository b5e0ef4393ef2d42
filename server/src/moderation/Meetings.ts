import type { Logger } from '../logger.js';
import type { Room } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { Meeting, type MeetingObserver, type MeetingOptions } from './Meeting.js';
import type { RoomStateStore } from './RoomState.js';

/** Every room is a meeting from the moment it is created. */
export class Meetings {
  private readonly byRoom = new WeakMap<Room, Meeting>();

  constructor(rooms: RoomRegistry, store: RoomStateStore, options: MeetingOptions, observer: MeetingObserver, log: Logger) {
    rooms.on('created', (room) => this.byRoom.set(room, new Meeting(room, store, options, observer, log.child({ room: room.id }))));
  }

  of(room: Room): Meeting {
    const meeting = this.byRoom.get(room);
    if (!meeting) throw new Error(`Room ${room.id} has no meeting`);
    return meeting;
  }
}
