import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Database } from '../schema.ts';

/** Stands for a named argument while the query is built; never sent to a database. */
const placeholderPrefix = '\u0000runyard-argument:';

/** One parameter of the compiled SQL: a named argument, or a constant of the built query. */
type Slot = { argument: string } | { constant: unknown };

interface Compiled {
  sql: string;
  slots: Slot[];
}

/**
 * A query of the hot path built with Kysely once per dialect, then executed as its compiled SQL
 * with new parameter values: building and compiling a query costs more than SQLite takes to run
 * most of them. The query is built with a placeholder for each argument, so its shape must not
 * depend on the values (no `in` lists, no `is null` chosen by value: pass scalars that end up as
 * bound parameters). A placeholder left out of the parameters, or one that reached them changed,
 * fails the first execution instead of sending wrong SQL.
 *
 * Keyed by the database's adapter, which a Kysely instance shares with its transactions, so one
 * compilation serves every transaction of a connection.
 */
export class PreparedQuery<Args extends object, Row = never> {
  private readonly compiled = new WeakMap<object, Compiled>();

  constructor(
    private readonly build: (
      db: Kysely<Database>,
      argument: <Name extends keyof Args & string>(name: Name) => Args[Name],
    ) => Compilable<Row>,
    private readonly argumentNames: readonly (keyof Args & string)[],
  ) {}

  async execute(db: Kysely<Database>, args: Args): Promise<QueryResult<Row>> {
    const compiled = this.compiledFor(db);
    const parameters = compiled.slots.map((slot) =>
      'argument' in slot ? (args as Record<string, unknown>)[slot.argument] : slot.constant,
    );
    return db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters));
  }

  /** The first row, if any (a select, or a write with `returning`). */
  async executeTakeFirst(db: Kysely<Database>, args: Args): Promise<Row | undefined> {
    return (await this.execute(db, args)).rows[0];
  }

  /** Rows written: updates and deletes without `returning`. */
  async executeCountingRows(db: Kysely<Database>, args: Args): Promise<bigint> {
    return (await this.execute(db, args)).numAffectedRows ?? 0n;
  }

  private compiledFor(db: Kysely<Database>): Compiled {
    const adapter = db.getExecutor().adapter;
    const known = this.compiled.get(adapter);
    if (known !== undefined) return known;
    const placeholder = (name: string) => `${placeholderPrefix}${name}`;
    const query = this.build(db, (name) => placeholder(name) as never).compile();
    const seen = new Set<string>();
    const slots = query.parameters.map((value): Slot => {
      if (typeof value === 'string' && value.startsWith(placeholderPrefix)) {
        const argument = value.slice(placeholderPrefix.length);
        seen.add(argument);
        return { argument };
      }
      return { constant: value };
    });
    const missing = this.argumentNames.filter((name) => !seen.has(name));
    if (missing.length > 0 || query.sql.includes(placeholderPrefix)) {
      throw new Error(
        `prepared query: arguments ${missing.join(', ')} are not bound parameters of ${query.sql}`,
      );
    }
    const compiled = { sql: query.sql, slots };
    this.compiled.set(adapter, compiled);
    return compiled;
  }
}

/**
 * An object of placeholders, one per name: the values of an insert or the `set` of an update.
 * `names` must list every key of `Args`.
 */
export function argumentsNamed<Args>(
  names: readonly (keyof Args & string)[],
  argument: <Name extends keyof Args & string>(name: Name) => Args[Name],
): Args {
  return Object.fromEntries(names.map((name) => [name, argument(name)])) as Args;
}
