// The parser that turns the README's walk-through into test steps.
import { describe, expect, it } from 'vitest';
import { END, START, walkthroughSteps } from './readme.ts';

const md = (body: string): string => `# x\n${START}\n${body}\n${END}\n`;

describe('walk-through parser', () => {
  it('reads terminal blocks, drops comments, joins continuations and keeps refusals', () => {
    const steps = walkthroughSteps(
      md(
        [
          '```sh',
          '# terminal 1',
          'npx keyway lock --name front --setup-code 4821-3907   # leave it running',
          '```',
          'Then:',
          '```sh',
          '# terminal 2',
          'npx keyway phone --profile olivia claim \\',
          '  --setup-code 4821-3907',
          '',
          'npx keyway ekey issue --to "$(cat guest.pub)" --note \'a # b\'   # hash inside quotes stays',
          'npx keyway phone --profile guest unlock   # refused: outside_schedule',
          '```',
          '```sh',
          'sudo systemctl stop bluetooth',
          '```',
        ].join('\n'),
      ),
    );
    expect(steps).toEqual([
      { terminal: 1, command: 'npx keyway lock --name front --setup-code 4821-3907' },
      { terminal: 2, command: 'npx keyway phone --profile olivia claim --setup-code 4821-3907' },
      { terminal: 2, command: 'npx keyway ekey issue --to "$(cat guest.pub)" --note \'a # b\'' },
      { terminal: 2, command: 'npx keyway phone --profile guest unlock', refused: 'outside_schedule' },
    ]);
  });

  it('needs the markers', () => {
    expect(() => walkthroughSteps('# no markers')).toThrow('README.md has no walk-through markers');
  });
});
