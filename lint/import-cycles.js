// @ts-check
import path from 'node:path';
import { importedFiles, isSourceFile, resolveImport } from './import-graph.js';
import { onEveryImport } from './import-sources.js';

/**
 * No two files import each other, however far round: every import that closes a loop is reported,
 * type-only imports included (a type that two files share goes into a file of its own).
 *
 * The loops are the strongly connected components of the import graph (Tarjan's algorithm), found
 * once per process for every file reachable from the first file linted, so a whole run reads each
 * file's imports once.
 */

/** @type {Map<string, number>} file → its component */
const componentOfFile = new Map();

/** @type {import('eslint').Rule.RuleModule} */
export const importCycles = {
  meta: {
    type: 'problem',
    docs: { description: 'No import cycles, type-only imports included' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, required: ['root'] }],
    messages: {
      cycle: 'Import cycle: {{loop}}. Move what both sides need into a file of its own.',
    },
  },
  create(context) {
    const { root } = /** @type {{ root: string }} */ (context.options[0]);
    const file = context.physicalFilename;
    const component = componentOf(root, file);
    return onEveryImport((specifier, node) => {
      const target = resolveImport(root, file, specifier);
      if (!('file' in target) || componentOf(root, target.file) !== component) return;
      const loop = [file, ...pathBetween(root, target.file, file, component)];
      const named = loop.map((step) => path.relative(root, step).split(path.sep).join('/'));
      context.report({ node, messageId: 'cycle', data: { loop: named.join(' → ') } });
    });
  },
};

/**
 * The number of the component that holds `file`; -1 for what is no source file (a JSON file, say).
 *
 * @param {string} root
 * @param {string} file
 * @returns {number}
 */
function componentOf(root, file) {
  if (!isSourceFile(file)) return -1;
  let component = componentOfFile.get(file);
  if (component === undefined) {
    findComponents(root, file);
    component = componentOfFile.get(file) ?? -1;
  }
  return component;
}

/**
 * Tarjan's algorithm from `start` over the files not yet placed, iterative (no stack depth limit).
 *
 * @param {string} root
 * @param {string} start
 */
function findComponents(root, start) {
  /** @type {Map<string, number>} */ const index = new Map();
  /** @type {Map<string, number>} */ const lowLink = new Map();
  /** @type {string[]} */ const stack = [];
  /** @type {Set<string>} */ const onStack = new Set();
  /** @type {{ file: string, next: string[] }[]} */ const work = [];
  const visit = (/** @type {string} */ file) => {
    index.set(file, index.size);
    lowLink.set(file, index.get(file) ?? 0);
    stack.push(file);
    onStack.add(file);
    work.push({ file, next: importedFiles(root, file).filter((target) => !componentOfFile.has(target)) });
  };
  visit(start);
  while (work.length > 0) {
    const frame = /** @type {{ file: string, next: string[] }} */ (work.at(-1));
    const target = frame.next.shift();
    if (target !== undefined) {
      if (!index.has(target)) visit(target);
      else if (onStack.has(target))
        lowLink.set(frame.file, Math.min(low(lowLink, frame.file), low(index, target)));
      continue;
    }
    work.pop();
    const parent = work.at(-1);
    if (parent !== undefined)
      lowLink.set(parent.file, Math.min(low(lowLink, parent.file), low(lowLink, frame.file)));
    if (low(lowLink, frame.file) !== low(index, frame.file)) continue;
    const component = componentOfFile.size;
    let member;
    do {
      member = /** @type {string} */ (stack.pop());
      onStack.delete(member);
      componentOfFile.set(member, component);
    } while (member !== frame.file);
  }
}

/**
 * @param {Map<string, number>} numbers
 * @param {string} file
 */
const low = (numbers, file) => numbers.get(file) ?? 0;

/**
 * The shortest chain of imports from `from` to `to` inside one component (breadth first), both ends
 * included.
 *
 * @param {string} root
 * @param {string} from
 * @param {string} to
 * @param {number} component
 * @returns {string[]}
 */
function pathBetween(root, from, to, component) {
  /** @type {Map<string, string | undefined>} */
  const cameFrom = new Map([[from, undefined]]);
  const queue = [from];
  for (let file = queue.shift(); file !== undefined && file !== to; file = queue.shift()) {
    for (const target of importedFiles(root, file)) {
      if (cameFrom.has(target) || componentOfFile.get(target) !== component) continue;
      cameFrom.set(target, file);
      queue.push(target);
    }
  }
  /** @type {string[]} */
  const chain = [];
  for (let file = /** @type {string | undefined} */ (to); file !== undefined; file = cameFrom.get(file)) {
    chain.unshift(file);
  }
  return chain;
}
