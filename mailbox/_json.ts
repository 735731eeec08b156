/**
 * The walk that decides whether a value survives a trip through JSON, shared by the process wire
 * (`pipe.ts`, which takes the JSON path only when the result is exactly what structured clone would
 * give) and `SharedQueue` (whose items are JSON).
 *
 * @module
 */

/** What the walk accepts beyond plain JSON data. */
export interface JsonWalk {
  /** Deeper than this, the value is refused (it is probably cyclic). */
  readonly maxDepth: number;
  /** Whether `-0` passes (JSON turns it into `0`). */
  readonly negativeZero: boolean;
  /** Whether an object field holding `undefined` passes (`JSON.stringify` drops it). */
  readonly undefinedFields: boolean;
  /**
   * Past this many values looked at, the value is refused: a small value whose objects are reached
   * from many places would take the walk (and `JSON.stringify`) a time proportional to its paths,
   * not its size. Unlimited when absent.
   */
  readonly maxValues?: number;
}

/**
 * Whether `value` is JSON data: strings, booleans, `null`, finite numbers, dense plain arrays and
 * plain objects (of `Object.prototype` or none) of JSON data, nested at most `walk.maxDepth` deep.
 *
 * @param value The value.
 * @param walk What passes beyond plain JSON data, and how deep.
 * @param depth The depth of `value` itself (0 at the top).
 * @returns Whether `JSON.parse(JSON.stringify(value))` gives it back, within `walk`'s allowances.
 */
export function isJsonData(value: unknown, walk: JsonWalk, depth = 0): boolean {
  return jsonWithin(value, walk, depth, { left: walk.maxValues ?? Infinity });
}

function jsonWithin(
  value: unknown,
  walk: JsonWalk,
  depth: number,
  budget: { left: number },
): boolean {
  if (--budget.left < 0) return false;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && (walk.negativeZero || !Object.is(value, -0));
    case "object": {
      if (value === null) return true;
      if (depth >= walk.maxDepth) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonWithin(value[i], walk, depth + 1, budget)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        const field = record[key];
        if (field === undefined && walk.undefinedFields) continue;
        if (!jsonWithin(field, walk, depth + 1, budget)) return false;
      }
      return true;
    }
    default:
      return false; // undefined, bigint, symbol, function
  }
}
