// Text preprocessing as SaSPartitioner's word count: lower-case, strip punctuation, split into words.

const APOSTROPHES = /['\u2018\u2019\u02bc]/g;
const NON_WORD = /[^\p{L}\p{N}]+/u;

/**
 * The words of `line`: lower-cased; apostrophes removed inside words ("don't" → "dont"); every other
 * character that is not a Unicode letter or digit separates words ("rabbit-hole" → "rabbit", "hole";
 * "_I_" → "i"). Never returns empty strings.
 */
export function tokenize(line: string): string[] {
  const parts = line.toLowerCase().replace(APOSTROPHES, '').split(NON_WORD);
  const out: string[] = [];
  for (const p of parts) if (p !== '') out.push(p);
  return out;
}

/**
 * Interns words to dense ids in first-seen order. Invariant: `word(id(w)) === w` and ids are
 * exactly [0, size).
 */
export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private readonly words: string[] = [];

  /** The id of `w`, assigning the next free id on first sight. */
  intern(w: string): number {
    let id = this.ids.get(w);
    if (id === undefined) {
      id = this.words.length;
      this.ids.set(w, id);
      this.words.push(w);
    }
    return id;
  }

  /** The id of `w`, or -1 when it was never interned. */
  lookup(w: string): number {
    return this.ids.get(w) ?? -1;
  }

  /** The word of `id` (undefined outside [0, size)). */
  word(id: number): string | undefined {
    return this.words[id];
  }

  /** Number of distinct words. */
  get size(): number {
    return this.words.length;
  }

  /** Interns every word of `words` and returns their ids. */
  internAll(words: readonly string[]): Int32Array {
    const ids = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) ids[i] = this.intern(words[i]);
    return ids;
  }
}

/**
 * Splits `ids` into consecutive chunks of at most `maxWords` words (views on `ids`, no copy). An empty
 * input yields no chunk. `maxWords` must be a positive integer.
 */
export function chunk(ids: Int32Array, maxWords: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < ids.length; i += maxWords) out.push(ids.subarray(i, Math.min(ids.length, i + maxWords)));
  return out;
}
