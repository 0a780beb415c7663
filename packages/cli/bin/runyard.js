#!/usr/bin/env node
// Runs the compiled bundle (build.js) while it is newer than every source file; otherwise, as when
// a source was edited since the last build, the TypeScript sources through tsx (compiled per module
// on first load, cached on disk). RUNYARD_FROM_SOURCE=1 always takes the sources.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDirectory = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bundle = path.join(cliDirectory, 'dist/runyard.js');

/** Newest modification time of the files under `directory`, in milliseconds. */
function newestChange(directory) {
  let newest = 0;
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const file = path.join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(file) : fs.statSync(file).mtimeMs);
  }
  return newest;
}

function bundleIsCurrent() {
  if (process.env.RUNYARD_FROM_SOURCE === '1') return false;
  let builtMs;
  try {
    builtMs = fs.statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const packagesDirectory = path.dirname(cliDirectory);
  return fs
    .readdirSync(packagesDirectory)
    .every((name) => newestChange(path.join(packagesDirectory, name, 'src')) < builtMs);
}

let main;
if (bundleIsCurrent()) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
