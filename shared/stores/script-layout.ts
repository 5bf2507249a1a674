// Scripts by name: a script's keys and arguments declared once, by name, in order. The
// script's body names them (`${ITEM.key.counter}`, written into the Lua source as
// `KEYS[k + 1]`), and the call site builds KEYS and ARGV from a record of the same names, so
// neither side counts offsets and adding a field renumbers nothing by hand.

/** A group of keys and arguments, in order; `k` and `a` name the Lua variables it is offset by ('' for none). */
export interface Layout<K extends string, A extends string> {
  /** Each key as the Lua expression that reads it. */
  key: Record<K, string>;
  /** Each argument as the Lua expression that reads it. */
  arg: Record<A, string>;
  keyCount: number;
  argCount: number;
  /** How many keys come before `name`: the keys a call that stops there sends. */
  keysBefore(name: K): number;
  /** KEYS and ARGV in the declared order, from records of the names (keys from `until` on left out). */
  encode(keys: Record<K, string>, args: Record<A, string>, until?: K): { keys: string[]; args: string[] };
}

const at = (base: string, index: number) => (base === "" ? String(index) : `${base} + ${index}`);

export function layout<const K extends string, const A extends string>(
  offsets: { keys: string; args: string },
  names: { keys: readonly K[]; args: readonly A[] },
): Layout<K, A> {
  const indexOf = <N extends string>(list: readonly N[], name: N) => list.indexOf(name);
  const exprs = <N extends string>(list: readonly N[], table: "KEYS" | "ARGV", base: string) =>
    Object.fromEntries(list.map((name, i) => [name, `${table}[${at(base, i + 1)}]`])) as Record<N, string>;
  return {
    key: exprs(names.keys, "KEYS", offsets.keys),
    arg: exprs(names.args, "ARGV", offsets.args),
    keyCount: names.keys.length,
    keysBefore: (name) => indexOf(names.keys, name),
    argCount: names.args.length,
    encode(keys, args, until) {
      const keyNames = until === undefined ? names.keys : names.keys.slice(0, indexOf(names.keys, until));
      return { keys: keyNames.map((name) => keys[name]), args: names.args.map((name) => args[name]) };
    },
  };
}
