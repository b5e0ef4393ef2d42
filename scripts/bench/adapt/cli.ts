import { adaptCli } from './adapt.js';

process.exit(await adaptCli(process.argv.slice(2)));
