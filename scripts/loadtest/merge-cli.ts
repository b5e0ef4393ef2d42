import { mergeCli } from './merge.js';

process.exit(mergeCli(process.argv.slice(2)));
