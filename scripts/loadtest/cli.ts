import { loadTestCli } from './main.js';

process.exit(await loadTestCli(process.argv.slice(2)));
