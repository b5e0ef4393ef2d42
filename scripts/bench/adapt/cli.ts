import { adaptCli } from './adapt.js';
import { stuckCli } from './stuck.js';

const argv = process.argv.slice(2);
process.exit(await (argv.includes('--stuck') ? stuckCli(argv) : adaptCli(argv)));
