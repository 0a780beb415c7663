import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { backendNames, createBackend, temporaryDirectory, type Backend } from '../support/backends.ts';
import { cleanEnvironment, useRunyardProcesses } from '../support/processes.ts';

/**
 * The README's "Five-minute walkthrough", run as written against a fresh `runyard start`: every
 * `sh` block in order, in one folder whose `.runyard` is the server's data folder (as after
 * `npm start` in the repository). What the README shows is checked:
 * - a `#  → …` line: the output since the previous check contains a line that fits it (`…` stands
 *   for anything on that line; ` or ` separates alternatives; two spaces and a parenthesis start a
 *   remark);
 * - a `text` block of SSE events after an `sh` block: each shown `id: N` is the stream's event N and
 *   its `data:` fits the shown one, and the last shown id is the stream's last.
 */
const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const readme = fs.readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8');
const binary = path.join(repositoryRoot, 'packages/cli/bin/runyard.js');
const documentedUrl = 'http://127.0.0.1:8080';

/**
 * Lines not run here, each with the reason. The provider test calls api.openai.com, and this
 * machine has no network (secrets-and-providers.test.ts covers that route against a local model
 * server).
 */
const notRunHere = [{ line: 'curl -s -X POST $RUNYARD/v1/providers/openai/test', reason: 'no network' }];

interface Block {
  language: string;
  body: string;
}

function walkthroughBlocks(): Block[] {
  const start = readme.indexOf('## Five-minute walkthrough');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((match) => ({
    language: match[1]!,
    body: match[2]!,
  }));
}

/** A shown output as a regular expression over one line. */
function shownPattern(shown: string): RegExp {
  const text = shown.replace(/ {2,}\(.*$/, '').trim();
  const alternatives = text.split(' or ').map((alternative) =>
    alternative
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*?'),
  );
  return new RegExp(`(?:${alternatives.join('|')})`);
}

const checkMarker = (index: number) => `@@readme-check-${index}@@`;

/** The block as a script: checks become markers in the output, lines not run here are left out. */
function scriptOf(block: Block, checks: string[]): string {
  const lines: string[] = [];
  let skipping = false;
  for (const line of block.body.split('\n')) {
    const arrow = /^#\s+→\s+(.*)$/.exec(line);
    if (arrow !== null) {
      // What a line not run here would print is not checked either.
      if (!skipping) {
        lines.push(`printf '\\n%s\\n' '${checkMarker(checks.length)}'`);
        checks.push(arrow[1]!);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    if (skipping && line.startsWith(' ')) continue; // the rest of a command not run here
    skipping = notRunHere.some((entry) => line.startsWith(entry.line));
    if (!skipping) lines.push(line.replaceAll(documentedUrl, '$RUNYARD_SERVER'));
  }
  return lines.join('\n');
}

function runBash(script: string, cwd: string, environment: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: environment });
    // What the README shows is standard output; curl's progress meter goes to standard error.
    let output = '';
    let errors = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`exit ${code}:\n${script}\n---\n${output}\n---\n${errors}`)),
    );
  });
}

function checkOutputs(output: string, checks: string[], firstCheck: number): void {
  let rest = output;
  for (let index = firstCheck; index < checks.length; index += 1) {
    const marker = checkMarker(index);
    const at = rest.indexOf(marker);
    expect(at, `the block reached check ${index}`).toBeGreaterThanOrEqual(0);
    const shown = checks[index]!;
    const lines = rest.slice(0, at).split('\n');
    expect(
      lines.some((line) => shownPattern(shown).test(line)),
      `README shows "${shown}"; the commands printed:\n${rest.slice(0, at)}`,
    ).toBe(true);
    rest = rest.slice(at + marker.length);
  }
}

function checkEvents(output: string, shownBlock: string): void {
  const actual = new Map<number, string>();
  for (const match of output.matchAll(/^id: (\d+)\ndata: (.*)$/gm)) actual.set(Number(match[1]), match[2]!);
  const shown = [...shownBlock.matchAll(/^id: (\d+)\ndata: (.*)$/gm)].map((match) => ({
    id: Number(match[1]),
    data: match[2]!,
  }));
  expect(shown.length).toBeGreaterThan(0);
  for (const event of shown) {
    const data = actual.get(event.id);
    expect(data, `the stream has an event ${event.id}:\n${output}`).toBeDefined();
    const pattern = new RegExp(`^${shownPattern(event.data).source}$`);
    expect(
      pattern.test(data!),
      `event ${event.id}: README shows ${event.data}; the stream sent ${data}`,
    ).toBe(true);
  }
  expect(Math.max(...actual.keys())).toBe(shown.at(-1)!.id);
}

describe('the README walkthrough', () => {
  const processes = useRunyardProcesses(60_000);
  const backends: Backend[] = [];
  afterAll(async () => {
    for (const backend of backends) await backend.cleanup();
  });

  it('reads the blocks it runs', () => {
    const blocks = walkthroughBlocks();
    expect(blocks.map((block) => block.language)).toEqual(['sh', 'text', 'sh', 'sh']);
    expect(shownPattern('{"ok":true,…} or {"ok":false,…}').test('{"ok":false,"latencyMs":3}')).toBe(true);
    expect(shownPattern('{"ok":true,…}  (a remark)').test('{"ok":false}')).toBe(false);
  });

  it.each(backendNames)(
    'runs as written on %s and prints what it shows',
    async (backendName) => {
      const backend = await createBackend(backendName);
      backends.push(backend);
      const folder = temporaryDirectory('runyard-readme-');
      const dataDirectory = path.join(folder, '.runyard');
      const server = await processes.start('start', {
        RUNYARD_PORT: '0',
        RUNYARD_DATA_DIR: dataDirectory,
        ...(backend.databaseUrl !== undefined && { DATABASE_URL: backend.databaseUrl }),
      });
      const serverUrl = server.url!;
      // `npx runyard` from the repository is this checkout's CLI; RUNYARD_URL points it at the
      // server (as the README says), and it finds ./.runyard/admin.key by itself.
      const environment = {
        ...cleanEnvironment(),
        RUNYARD_SERVER: serverUrl,
        RUNYARD_URL: serverUrl,
        BASH_ENV: '',
      };
      const prelude = `npx() { if [ "$1" = runyard ]; then shift; node ${JSON.stringify(binary)} "$@"; else echo "npx $1 is not part of the walkthrough" >&2; return 1; fi; }\n`;

      const checks: string[] = [];
      const blocks = walkthroughBlocks();
      let shell = '';
      for (const [index, block] of blocks.entries()) {
        if (block.language === 'text') {
          checkEvents(shell, block.body);
          continue;
        }
        const firstCheck = checks.length;
        // Exports of earlier blocks carry over, as in one terminal.
        const earlier = blocks
          .slice(0, index)
          .filter((previous) => previous.language === 'sh')
          .flatMap((previous) => previous.body.split('\n').filter((line) => line.startsWith('export ')))
          .map((line) => line.replaceAll(documentedUrl, '$RUNYARD_SERVER'))
          .join('\n');
        shell = await runBash(`${prelude}${earlier}\n${scriptOf(block, checks)}`, folder, environment);
        checkOutputs(shell, checks, firstCheck);
      }
      expect(checks.length).toBeGreaterThanOrEqual(10);

      // The browsable docs the walkthrough ends with, under both spellings.
      const page = await fetch(`${serverUrl}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const folderForm = await fetch(`${serverUrl}/docs/`, { redirect: 'manual' });
      expect(folderForm.status).toBe(301);
      expect(folderForm.headers.get('location')).toBe('/docs');
      fs.rmSync(folder, { recursive: true, force: true });
    },
    240_000,
  );
});
