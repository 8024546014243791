#!/usr/bin/env node
// The keyway CLI. Sources are TypeScript run through tsx's loader, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../tools/main.ts');
process.exitCode = await main(process.argv.slice(2));
