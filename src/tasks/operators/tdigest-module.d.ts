// Types for the parts of the `tdigest` npm package (0.1.3, no bundled types) that this project uses.
declare module 'tdigest' {
  /** A centroid: mean and weight. */
  export interface Centroid {
    mean: number;
    n: number;
  }
  /** Dunning's t-digest (welch/tdigest). `delta` = 1 / compression; `K` = 0 disables auto-compression. */
  export class TDigest {
    constructor(delta?: number | false, K?: number, CX?: number);
    /** Total weight pushed. */
    n: number;
    push(x: number | number[], n?: number): void;
    push_centroid(c: Centroid | Centroid[]): void;
    percentile(p: number): number | undefined;
    percentile(p: number[]): (number | undefined)[];
    size(): number;
    toArray(everything?: boolean): Centroid[];
    reset(): void;
    _cumulate(exact: boolean): void;
    /** Internal: adds value x with weight n (no array allocation). */
    _digest(x: number, n: number): void;
  }
}
