#!/usr/bin/env node
// Runs the TypeScript sources directly: tsx compiles each module on first load (cached on disk).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
