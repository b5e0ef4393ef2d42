import { soakCli } from './soak.js';

process.exit(await soakCli(process.argv.slice(2)));
