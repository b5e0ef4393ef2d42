import { parseArgs } from 'node:util';
import { DisplayName, firstIssue, RoomId } from '../../../shared/identity.js';
import { Role } from '../../../shared/roles.js';
import { loadConfig } from '../config.js';
import { parseDuration, signToken } from '../auth/token.js';

const USAGE = 'usage: npm run token -- --room <room> --name <name> [--ttl 1h] [--role host|moderator|participant] [--lobby]\n';

/** `npm run token -- --room R --name N [--ttl 1h] [--role host] [--lobby]`: prints an HS256 join token. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      role: { type: 'string' },
      lobby: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.room || !values.name) {
    process.stderr.write(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const { AUTH_SECRET } = loadConfig();
  if (!AUTH_SECRET) {
    process.stderr.write('AUTH_SECRET is not set (environment or .env): this tool signs HS256 tokens with it (docs/tokens.md).\n');
    process.exit(2);
  }
  const role = values.role === undefined ? undefined : Role.safeParse(values.role);
  if (role?.success === false) {
    process.stderr.write(`Unknown role "${values.role}" (${Role.options.join(', ')})\n`);
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
  const claims = { room: room.data, name: name.data, ...(role ? { role: role.data } : {}), ...(values.lobby ? { lobby: true } : {}) };
  const token = await signToken(AUTH_SECRET, claims, parseDuration(values.ttl));
  process.stdout.write(`${token}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
