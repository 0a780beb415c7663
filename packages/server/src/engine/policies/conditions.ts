import type { PolicyCondition } from '@runyard/protocol';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { stringGlob } from './glob.ts';

/** The value at a dotted path into the tool input (`customer.country`, `items.0.sku`); undefined when absent. */
export function valueAt(input: unknown, path: string): unknown {
  let current: unknown = input;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const symbolic: Record<string, string> = {
  '==': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
};

function same(left: unknown, right: unknown): boolean {
  return canonicalJson(left) === canonicalJson(right);
}

function compare(left: unknown, right: unknown): number | undefined {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  if (typeof left === 'string' && typeof right === 'string') return left < right ? -1 : left > right ? 1 : 0;
  return undefined;
}

/**
 * One predicate on the tool input. An absent value, or one of another type than the comparison
 * needs, makes every predicate false except `ne`: a rule is never applied on a guess.
 */
export function conditionHolds(condition: PolicyCondition, input: unknown): boolean {
  const actual = valueAt(input, condition.path);
  const op = symbolic[condition.op] ?? condition.op;
  if (actual === undefined) return op === 'ne';
  switch (op) {
    case 'eq':
      return same(actual, condition.value);
    case 'ne':
      return !same(actual, condition.value);
    case 'in':
      return Array.isArray(condition.value) && condition.value.some((item) => same(actual, item));
    case 'matches':
      return (
        typeof actual === 'string' &&
        typeof condition.value === 'string' &&
        stringGlob(condition.value).test(actual)
      );
    default: {
      const order = compare(actual, condition.value);
      if (order === undefined) return false;
      if (op === 'lt') return order < 0;
      if (op === 'lte') return order <= 0;
      if (op === 'gt') return order > 0;
      return order >= 0;
    }
  }
}
