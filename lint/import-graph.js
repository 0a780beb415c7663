// @ts-check
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * What the two import rules share: where an import specifier leads, and which files a file imports.
 * Paths are absolute. A target is a file of the repository (`{ file }`), or a package from the
 * registry or Node itself (`{ packageName }`); a workspace package (`@runyard/server`) is the file its
 * package.json exports, so it is a file like any other.
 *
 * @typedef {{ file: string } | { packageName: string }} ImportTarget
 */

/** @type {Map<string, Map<string, string>>} root → workspace package name → the file it exports */
const workspacesOfRoot = new Map();

/** @type {Map<string, string[]>} file → the specifiers it imports (type-only and dynamic ones too) */
const specifiersOfFile = new Map();

/**
 * Where `specifier`, imported by `importer`, leads. Source files import each other with `.ts`
 * (or, in older code, `.js`) extensions, as NodeNext resolution wants.
 *
 * @param {string} root the repository (its package.json lists the workspaces)
 * @param {string} importer
 * @param {string} specifier
 * @returns {ImportTarget}
 */
export function resolveImport(root, importer, specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    return { file: sourceFileOf(path.resolve(path.dirname(importer), specifier)) };
  }
  const packageName = packageNameOf(specifier);
  const exported = workspacesOf(root).get(packageName);
  if (exported === undefined) return { packageName };
  // A subpath of a workspace package is a file of that package, so the layers see where it leads.
  const subpath = specifier.slice(packageName.length);
  return { file: subpath === '' ? exported : sourceFileOf(path.join(path.dirname(exported), subpath)) };
}

/**
 * The files of the repository that `file` imports, read from disk once per process: a long-lived
 * ESLint (an editor's) sees another file's new imports after a restart.
 *
 * @param {string} root
 * @param {string} file
 * @returns {string[]}
 */
export function importedFiles(root, file) {
  let specifiers = specifiersOfFile.get(file);
  if (specifiers === undefined) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      // A file that is not there imports nothing; the type checker reports the import itself.
    }
    specifiers = ts.preProcessFile(text, true, true).importedFiles.map((imported) => imported.fileName);
    specifiersOfFile.set(file, specifiers);
  }
  return specifiers.flatMap((specifier) => {
    const target = resolveImport(root, file, specifier);
    return 'file' in target && isSourceFile(target.file) ? [target.file] : [];
  });
}

/**
 * @param {string} file
 * @returns {boolean}
 */
export const isSourceFile = (file) => file.endsWith('.ts') && !file.split(path.sep).includes('node_modules');

/**
 * `x.js` is `x.ts` when only the latter exists; a bare `dir` is `dir/index.ts`.
 *
 * @param {string} file
 * @returns {string}
 */
function sourceFileOf(file) {
  if (file.endsWith('.js') && !fs.existsSync(file)) return `${file.slice(0, -3)}.ts`;
  if (path.extname(file) !== '') return file;
  if (fs.existsSync(`${file}.ts`)) return `${file}.ts`;
  return path.join(file, 'index.ts');
}

/**
 * `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; `node:fs` stays `node:fs`.
 *
 * @param {string} specifier
 * @returns {string}
 */
function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * The workspace packages that the root package.json lists, each with the file it exports as `.`.
 *
 * @param {string} root
 * @returns {Map<string, string>}
 */
function workspacesOf(root) {
  let workspaces = workspacesOfRoot.get(root);
  if (workspaces === undefined) {
    workspaces = new Map();
    /** @type {{ workspaces?: string[] }} */
    const manifest = readJson(path.join(root, 'package.json')) ?? {};
    for (const folder of manifest.workspaces ?? []) {
      /** @type {{ name?: string, exports?: { '.'?: string } } | undefined} */
      const workspace = readJson(path.join(root, folder, 'package.json'));
      const exported = workspace?.exports?.['.'];
      if (workspace?.name !== undefined && exported !== undefined) {
        workspaces.set(workspace.name, path.join(root, folder, exported));
      }
    }
    workspacesOfRoot.set(root, workspaces);
  }
  return workspaces;
}

/**
 * @param {string} file
 * @returns {any}
 */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
