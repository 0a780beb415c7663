// Compiles the `runyard` command and the workspace sources it runs into ES modules (dist/runyard.js
// and its chunks), so that `npm start` runs plain JavaScript: no TypeScript loader thread (its own
// V8 heap) and no compile on start. Packages from node_modules stay outside the bundle, loaded as
// they are. `npm ci` runs it (the root's `prepare`); bin/runyard.js uses the bundle only while it
// is newer than every source file, else the sources through tsx.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDirectory = path.dirname(fileURLToPath(import.meta.url));
/** `node build.js [folder]`: the bundle goes to dist/ unless a folder is given (tests build elsewhere). */
const outputDirectory = path.resolve(process.argv[2] ?? path.join(cliDirectory, 'dist'));
fs.mkdirSync(outputDirectory, { recursive: true });

/** Our own workspaces are bundled; every other bare import is left to Node at run time. */
const externalPackages = {
  name: 'external-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@runyard/') ? undefined : { path: args.path, external: true },
    );
  },
};

// Chunk names carry a content hash: drop the last build's files so that stale chunks do not pile up.
for (const entry of fs.readdirSync(outputDirectory, { withFileTypes: true })) {
  if (entry.isFile()) fs.rmSync(path.join(outputDirectory, entry.name));
}

await build({
  entryPoints: { runyard: path.join(cliDirectory, 'src/main.ts') },
  outdir: outputDirectory,
  entryNames: '[name]',
  bundle: true,
  // The server and its drivers sit behind a dynamic import in main.ts; split chunks keep them out
  // of what `runyard keys …` and the other API commands load.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Stack traces name our functions as the sources do.
  keepNames: true,
  plugins: [externalPackages],
  logLevel: 'warning',
});
