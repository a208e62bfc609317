// A partitioner wrapper that asks for costs and records every cost route() receives (hidden-cost tests).
import type { Partitioner } from '../../src/partitioners/types.js';

/** `inner`, but with `usesCost` true and every `route(key, cost)` call's cost pushed onto `seen`. */
export function costSpy(inner: Partitioner, seen: number[]): Partitioner {
  return new Proxy(inner, {
    get(target, prop, recv) {
      if (prop === 'usesCost') return true;
      if (prop === 'route')
        return (key: number, cost?: number) => {
          seen.push(cost ?? Number.NaN);
          return target.route(key, cost);
        };
      return Reflect.get(target, prop, recv);
    },
  });
}
