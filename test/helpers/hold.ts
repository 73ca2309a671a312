// Driving an interleaving that a slow database or password check gives, without relying on timing.

/**
 * Makes the next call of `object[method]` whose arguments pass `which` wait, its result in hand,
 * until `release()`; `reached` resolves once it waits. `release` also puts the method back.
 */
export function holdNextCall<T extends object, K extends keyof T>(object: T, method: K, which: (...args: any[]) => boolean = () => true) {
  const original = object[method];
  const call = original as (...args: unknown[]) => Promise<unknown>;
  let waiting!: () => void, go!: () => void;
  const reached = new Promise<void>((resolve) => { waiting = resolve; });
  const held = new Promise<void>((resolve) => { go = resolve; });
  const restore = () => { object[method] = original; };
  (object as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    const result = await call.apply(object, args);
    if (object[method] !== original && which(...args)) {
      restore();
      waiting();
      await held;
    }
    return result;
  };
  return { reached, release: () => { restore(); go(); } };
}
