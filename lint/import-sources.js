// @ts-check

/**
 * @typedef {import('eslint').Rule.RuleContext} RuleContext
 * @typedef {import('eslint').Rule.RuleListener} RuleListener
 * @typedef {import('estree').Node} Node
 */

/**
 * A listener that calls `onImport` for every module this file names: static imports (type-only
 * ones too), re-exports, `import()` calls and `import('…')` types.
 *
 * @param {(specifier: string, node: Node) => void} onImport
 * @returns {RuleListener}
 */
export function onEveryImport(onImport) {
  /** @param {{ source?: unknown }} node */
  const fromSource = (node) => {
    const source = /** @type {{ type?: string, value?: unknown } | null | undefined} */ (node.source);
    if (source?.type === 'Literal' && typeof source.value === 'string') {
      onImport(source.value, /** @type {Node} */ (source));
    }
  };
  return {
    ImportDeclaration: fromSource,
    ExportNamedDeclaration: fromSource,
    ExportAllDeclaration: fromSource,
    ImportExpression: fromSource,
    /** @param {any} node `typeof import('./x.ts')`, `import('./x.ts').Name` (typescript-eslint's AST) */
    TSImportType(node) {
      const literal = node.argument?.literal ?? node.argument;
      if (literal?.type === 'Literal' && typeof literal.value === 'string') onImport(literal.value, literal);
    },
  };
}
