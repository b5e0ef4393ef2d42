import { pipeCli } from './pipe.js';

process.exit(await pipeCli(process.argv.slice(2)));
