/** A small seeded generator for property tests: the same seed gives the same run. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(values: readonly T[]): T;
  /** One of the values, each as likely as its weight. */
  pickWeighted<T>(choices: readonly (readonly [number, T])[]): T;
}

/** mulberry32: 32 bits of state, good enough to spread test inputs, and reproducible by seed. */
export const seededRandom = (seed: number): Random => {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(values: readonly T[]): T => {
    const value = values[int(0, values.length - 1)];
    if (value === undefined && values.length === 0) throw new Error('pick from no values');
    return value as T;
  };
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick,
    pickWeighted<T>(choices: readonly (readonly [number, T])[]): T {
      const total = choices.reduce((sum, [weight]) => sum + weight, 0);
      let at = next() * total;
      for (const [weight, value] of choices) {
        at -= weight;
        if (at < 0) return value;
      }
      const last = choices[choices.length - 1];
      if (!last) throw new Error('pickWeighted from no choices');
      return last[1];
    },
  };
};
