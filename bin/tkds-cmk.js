#!/usr/bin/env node
// The `tkds-cmk` command: registers tsx, then runs the TypeScript CLI (cli/tkds-cmk.ts).
import { register } from 'tsx/esm/api';

register();
await import('../cli/tkds-cmk.ts');
