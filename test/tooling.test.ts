import { execFileSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

describe('npm run typecheck', () => {
  it('checks every TypeScript and JavaScript file in the repository', () => {
    const read = ts.readConfigFile(path.join(root, 'tsconfig.json'), (file) => ts.sys.readFile(file));
    if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
    const config: unknown = read.config;
    const checked = new Set(ts.parseJsonConfigFileContent(config, ts.sys, root).fileNames.map((file) => path.relative(root, file)));
    const tracked = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.cts', '*.js', '*.mjs', '*.cjs'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    expect(tracked.filter((file) => !checked.has(file))).toEqual([]);
  });
});
