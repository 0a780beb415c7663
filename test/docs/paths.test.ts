import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every repository path that README.md, AGENTS.md and docs/ name exists. A path is a backticked
 * token or a relative link target that ends in a source or document extension, or a folder (a
 * trailing `/`). It may be written from the repository root or from any folder (`engine/runs/…`,
 * `api/bind-routes.ts`): it is real when some tracked file's path ends with it, segment by
 * segment, or when it is a relative link that resolves from its document.
 */
const root = path.resolve(import.meta.dirname, '../..');
const trackedFiles = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((line) => line !== '');
const trackedPaths = new Set<string>();
for (const file of trackedFiles) {
  const segments = file.split('/');
  for (let end = 1; end <= segments.length; end += 1) {
    const prefix = segments.slice(0, end);
    // Every suffix of every prefix: `engine/runs/` and `runs/run-log.ts` both name real places.
    for (let start = 0; start < end; start += 1) {
      const suffix = prefix.slice(start).join('/');
      trackedPaths.add(end === segments.length ? suffix : `${suffix}/`);
    }
  }
}

/**
 * Made at run time, not tracked (the data folder, the CLI bundle), or outside the repository (the
 * seed documents in the workplace's shared folder).
 */
const untrackedPrefixes = [
  '.runyard/',
  './.runyard',
  'dist/',
  'packages/cli/dist/',
  '.tmp/',
  'shared/reference/',
];
const extensions = /\.(?:ts|js|mjs|json|md|yaml|yml|sql|txt)$/;

function documents(): string[] {
  const docs = trackedFiles.filter((file) => file.startsWith('docs/') && file.endsWith('.md'));
  return ['README.md', 'AGENTS.md', ...docs];
}

function namedPaths(text: string): { token: string; link: boolean }[] {
  const named: { token: string; link: boolean }[] = [];
  for (const match of text.matchAll(/`([^`\s]+)`/g)) named.push({ token: match[1]!, link: false });
  for (const match of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g))
    named.push({ token: match[1]!, link: true });
  return named.filter(({ token }) => {
    if (/^[a-z]+:/i.test(token) || token.startsWith('/') || token.startsWith('@')) return false;
    if (/[<>{}*…|=?$]/.test(token)) return false;
    if (!token.includes('/') && !extensions.test(token)) return false;
    return extensions.test(token) || token.endsWith('/');
  });
}

function exists(document: string, token: string, link: boolean): boolean {
  if (untrackedPrefixes.some((prefix) => token.startsWith(prefix))) return true;
  if (link) return fs.existsSync(path.resolve(root, path.dirname(document), token));
  const normalised = token.replace(/^\.\//, '');
  if (trackedPaths.has(normalised)) return true;
  // A bare file name (`run-log.ts`) is real when some tracked file has it.
  return fs.existsSync(path.resolve(root, path.dirname(document), token));
}

describe('paths named in the documentation', () => {
  it.each(documents())('%s names only paths that exist', (document) => {
    const text = fs.readFileSync(path.join(root, document), 'utf8');
    const missing = namedPaths(text)
      .filter(({ token, link }) => !exists(document, token, link))
      .map(({ token }) => token);
    expect(missing).toEqual([]);
  });

  it('recognises a path that does not exist', () => {
    const named = namedPaths('see `engine/no-such-file.ts` and [x](no-such-page.md)');
    expect(named.map(({ token }) => token)).toEqual(['engine/no-such-file.ts', 'no-such-page.md']);
    expect(named.filter(({ token, link }) => !exists('README.md', token, link))).toHaveLength(2);
  });
});
