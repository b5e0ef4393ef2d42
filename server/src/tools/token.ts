import { parseArgs } from 'node:util';
import { DisplayName, firstIssue, RoomId } from '../../../shared/identity.js';
import { loadConfig } from '../config.js';
import { parseDuration, signToken } from '../auth/token.js';

/** `npm run token -- --room R --name N [--ttl 1h] [--role moderator]`: prints a join token. */
function main(): void {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.room || !values.name) {
    process.stderr.write('usage: npm run token -- --room <room> --name <name> [--ttl 1h] [--role participant|moderator]\n');
    process.exit(values.help ? 0 : 2);
  }
  const { AUTH_SECRET } = loadConfig();
  if (!AUTH_SECRET) {
    process.stderr.write('AUTH_SECRET is not set (environment or .env): tokens are only needed when it is.\n');
    process.exit(2);
  }
  const role = values.role === 'moderator' || values.role === 'participant' ? values.role : undefined;
  if (values.role !== undefined && role === undefined) {
    process.stderr.write(`Unknown role "${values.role}" (participant or moderator)\n`);
    process.exit(2);
  }
  const room = RoomId.safeParse(values.room);
  const name = DisplayName.safeParse(values.name);
  if (!room.success) {
    process.stderr.write(`--room: ${firstIssue(room.error)}\n`);
    process.exit(2);
  }
  if (!name.success) {
    process.stderr.write(`--name: ${firstIssue(name.error)}\n`);
    process.exit(2);
  }
  const token = signToken(AUTH_SECRET, { room: room.data, name: name.data, ...(role ? { role } : {}) }, parseDuration(values.ttl));
  process.stdout.write(`${token}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
