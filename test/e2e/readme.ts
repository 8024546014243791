// Reads the README's walk-through (between <!-- walkthrough:start --> and <!-- walkthrough:end -->) into
// steps, so the end-to-end test runs exactly the commands a newcomer types and the two cannot drift.
//
// Conventions in the walk-through's ```sh blocks:
//   - the first line is `# terminal 1` (long-running commands, started in the background) or
//     `# terminal 2` (commands run one after another, each must succeed);
//   - a trailing `# refused: WORDS` on a terminal-2 command means it must fail (exit non-zero) with WORDS
//     in its error output; any other trailing `# comment` is for the reader only;
//   - a line ending in a backslash continues on the next line.
import { readFileSync } from 'node:fs';

export interface WalkStep {
  terminal: 1 | 2;
  /** The command line as typed (comment removed, continuations joined). */
  command: string;
  /** For `# refused: ...`: the text the error must contain. */
  refused?: string;
}

export const START = '<!-- walkthrough:start -->';
export const END = '<!-- walkthrough:end -->';

/** Removes a trailing shell comment (a # after whitespace, outside quotes). */
function splitComment(line: string): { code: string; comment: string | null } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"') i++;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
    }
  }
  return { code: line.trimEnd(), comment: null };
}

export function walkthroughSteps(markdown: string): WalkStep[] {
  const start = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md has no walk-through markers');
  const section = markdown.slice(start + START.length, end);
  const steps: WalkStep[] = [];
  const blocks = section.matchAll(/^```sh\n([\s\S]*?)^```$/gm);
  for (const block of blocks) {
    const lines = (block[1] ?? '').split('\n');
    const head = /^# terminal ([12])\b/.exec(lines[0] ?? '');
    if (head === null) continue; // other shell blocks (Linux setup, resets) are not part of the story
    const terminal = Number(head[1]) as 1 | 2;
    let pending = '';
    for (const raw of lines.slice(1)) {
      const { code, comment } = splitComment(raw);
      if (code.endsWith('\\')) {
        pending += `${code.slice(0, -1).trimEnd()} `;
        continue;
      }
      const command = pending === '' ? code.trim() : `${pending}${code.trim()}`.trim();
      pending = '';
      if (command === '') continue;
      const refused =
        comment !== null && comment.startsWith('refused:') ? comment.slice(8).trim() : undefined;
      steps.push({ terminal, command, ...(refused === undefined ? {} : { refused }) });
    }
  }
  return steps;
}

export function readWalkthrough(path: string): WalkStep[] {
  return walkthroughSteps(readFileSync(path, 'utf8'));
}
