import { joinCli } from './join.js';

process.exit(await joinCli(process.argv.slice(2)));
