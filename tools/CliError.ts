/** An error meant for the person at the terminal: one line on stderr, and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** NO_COLOR (https://no-color.org) and non-TTY output both turn colour off. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !process.env.NO_COLOR && stream.isTTY === true;
}
