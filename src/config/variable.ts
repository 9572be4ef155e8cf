/**
 * The mechanics of "each variable written once": a variable is declared where its value lands
 * in the configuration, as a leaf of a tree of groups; the tree gives both the reading (every
 * leaf parsed, every problem collected) and the type of what is read ({@link ValuesOf}).
 */
import type { z } from 'zod';

/** One environment variable: its name and the rule its value obeys (with its default). */
export class Variable<Rule extends z.ZodType = z.ZodType> {
  /**
   * @param name the environment variable, as an operator writes it in `.env`
   * @param rule parses the value (a string, or undefined when unset or blank) to what the
   *   configuration holds; its `.default()` is the variable's default
   */
  constructor(
    readonly name: string,
    readonly rule: Rule,
  ) {}
}

/**
 * Declares a variable at the place it lands in the configuration.
 * @param name the environment variable
 * @param rule its rule and default (see `rules.ts`)
 * @returns the leaf to put in a {@link VariableTree}
 */
export const variable = <Rule extends z.ZodType>(name: string, rule: Rule): Variable<Rule> =>
  new Variable(name, rule);

/** Groups of variables, shaped as the configuration they fill. */
export interface VariableTree {
  readonly [key: string]: Variable | VariableTree;
}

/** What a tree of variables reads to: the same shape, each leaf its rule's output. */
export type ValuesOf<Tree> = {
  -readonly [Key in keyof Tree]: Tree[Key] extends Variable<infer Rule>
    ? z.output<Rule>
    : ValuesOf<Tree[Key]>;
};

/** Environment values by name; an absent name is unset. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads every variable of a tree from an environment, without stopping at the first problem.
 * @param tree the variables, grouped
 * @param env the values by variable name (blank values already removed)
 * @returns the values in the tree's shape (complete only when `problems` is empty), and one
 *   problem per broken rule, `NAME message`, in the tree's order
 */
export function readVariables<Tree extends VariableTree>(
  tree: Tree,
  env: Environment,
): { values: ValuesOf<Tree>; problems: string[] } {
  const problems: string[] = [];
  const read = (group: VariableTree): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(group).map(([key, node]) => {
        if (!(node instanceof Variable)) return [key, read(node)];
        const parsed = node.rule.safeParse(env[node.name]);
        if (!parsed.success) {
          problems.push(...parsed.error.issues.map((issue) => `${node.name} ${issue.message}`));
        }
        return [key, parsed.data];
      }),
    );
  return { values: read(tree) as ValuesOf<Tree>, problems };
}
