// @ts-check
import path from 'node:path';
import { resolveImport } from './import-graph.js';
import { onEveryImport } from './import-sources.js';

/**
 * The layers as a rule: every file of a part may import its own part and the parts that part lists,
 * and no other file of the repository. Parts are paths from the root (a folder ends with `/`); a file
 * is in the part with the longest path that holds it, so `api/compat/` is a part apart from `api/`.
 * Packages from the registry are free unless a part lists the only ones it may use (`onlyPackages`)
 * or some it may never use (`neverPackages`).
 *
 * @typedef {{
 *   root: string,
 *   parts: Record<string, string>,
 *   mayImport: Record<string, string[]>,
 *   because?: Record<string, string>,
 *   onlyPackages?: Record<string, string[]>,
 *   neverPackages?: Record<string, string[]>,
 * }} BoundaryOptions
 */

/** @type {import('eslint').Rule.RuleModule} */
export const importBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports point one way: each part imports only the parts below it' },
    schema: [{ type: 'object' }],
    messages: {
      refused:
        '{{from}} may not import {{target}} (in {{to}}): {{from}} imports only {{allowed}}.{{because}}',
      outside: '{{from}} may not import {{target}}, which is in no part.{{because}}',
      package: '{{from}} may not import the package {{target}}.{{because}}',
      noPart: '{{file}} is in no part of the layers: give its folder a place in lint/layers.js.',
    },
  },
  create(context) {
    const options = /** @type {BoundaryOptions} */ (context.options[0]);
    const relative = (/** @type {string} */ file) =>
      path.relative(options.root, file).split(path.sep).join('/');
    const file = relative(context.physicalFilename);
    const from = partOf(options.parts, file);
    if (from === undefined) {
      return { Program: (node) => context.report({ node, messageId: 'noPart', data: { file } }) };
    }
    const allowed = new Set([from, ...(options.mayImport[from] ?? [])]);
    const because = options.because?.[from] === undefined ? '' : ` ${options.because[from]}`;
    return onEveryImport((specifier, node) => {
      const target = resolveImport(options.root, context.physicalFilename, specifier);
      if ('packageName' in target) {
        const only = options.onlyPackages?.[from];
        const never = options.neverPackages?.[from] ?? [];
        if (
          (only !== undefined && !only.includes(target.packageName)) ||
          never.includes(target.packageName)
        ) {
          context.report({ node, messageId: 'package', data: { from, target: target.packageName, because } });
        }
        return;
      }
      const targetFile = relative(target.file);
      const to = partOf(options.parts, targetFile);
      if (to !== undefined && allowed.has(to)) return;
      const data = { from, target: targetFile, to: to ?? '', allowed: [...allowed].join(', '), because };
      context.report({ node, messageId: to === undefined ? 'outside' : 'refused', data });
    });
  },
};

/**
 * The part with the longest path that holds `file` (a path from the root).
 *
 * @param {Record<string, string>} parts
 * @param {string} file
 * @returns {string | undefined}
 */
function partOf(parts, file) {
  let best;
  let bestLength = -1;
  for (const [name, place] of Object.entries(parts)) {
    const holds = place.endsWith('/') ? file.startsWith(place) : file === place;
    if (holds && place.length > bestLength) {
      best = name;
      bestLength = place.length;
    }
  }
  return best;
}
