import { recordCli } from './record.js';

process.exit(await recordCli(process.argv.slice(2)));
