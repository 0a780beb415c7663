// Run right after `npm ci`: fails loudly unless the native parts of the tree work under the Node
// running this script. npm can build better-sqlite3 against another Node's headers without a
// word (its nodedir setting), and the mismatch then shows only when the server starts.
import Database from 'better-sqlite3';
import { transformSync, version as esbuildVersion } from 'esbuild';

const node = `Node ${process.version} (NODE_MODULE_VERSION ${process.versions.modules})`;
const nodedir = process.env.npm_config_nodedir ?? '(npm config nodedir)';

try {
  const database = new Database(':memory:');
  const row = database.prepare('select sqlite_version() as version').get();
  database.close();
  console.log(`check-native-addons: better-sqlite3 loads under ${node}, SQLite ${row.version}`);
} catch (error) {
  console.error(
    `check-native-addons: better-sqlite3 does not load under ${node}: it was built for another ` +
      `Node. Run npm ci under this Node with npm's nodedir at this Node's own headers (now: ${nodedir}).\n` +
      (error instanceof Error ? error.message : String(error)),
  );
  process.exit(1);
}

try {
  transformSync('const answer: number = 42;', { loader: 'ts' });
  console.log(`check-native-addons: esbuild ${esbuildVersion} runs under ${node}`);
} catch (error) {
  console.error(
    `check-native-addons: esbuild's binary does not run under ${node}\n${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
