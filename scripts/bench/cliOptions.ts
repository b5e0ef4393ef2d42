/**
 * A bench's options from its arguments, or the exit code when there is nothing to run: `parse`
 * answers null for --help (the help goes to stdout, exit 0) and throws on a bad argument (the
 * message and the help go to stderr, exit 2).
 */
export function benchOptions<T>(argv: string[], parse: (argv: string[]) => T | null, help: string): { options: T } | { exitCode: number } {
  let options: T | null;
  try {
    options = parse(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${help}\n`);
    return { exitCode: 2 };
  }
  if (options === null) {
    process.stdout.write(`${help}\n`);
    return { exitCode: 0 };
  }
  return { options };
}
