import { benchCli } from './sfu.js';

process.exit(await benchCli(process.argv.slice(2)));
