import { benchOptions } from '../cliOptions.js';
import { parseSpanOptions, SPAN_HELP, spanCli } from './span.js';

const parsed = benchOptions(process.argv.slice(2), parseSpanOptions, SPAN_HELP);
process.exit('exitCode' in parsed ? parsed.exitCode : await spanCli(parsed.options));
