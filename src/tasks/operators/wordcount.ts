// Word count (SaS §5.1): each record's sentence is counted into its key's word → count partial.
import { z } from 'zod';
import { ConfigError } from '../../common/errors.js';
import { DEFAULT_CORPUS, DEFAULT_MAX_WORDS_PER_LINE } from '../payloads/text.js';
import type { PayloadStore, TaskOperator } from '../types.js';
import { CountMap } from './count-map.js';

/** Parameters of `wordcount`. */
export const wordcountParams = z.strictObject({
  /** Work amplification (SaSPartitioner's `combinerWorkloadRatio`). Default 1. */
  multiplier: z.number().int().min(1).max(1_000_000).default(1),
  /** Bundled corpus under data/corpus (default "alice"). Ignored with a CSV workload (its text column is used). */
  corpus: z.string().regex(/^[a-z0-9_-]+$/i, 'a bundled corpus name (letters, digits, - and _)').default(DEFAULT_CORPUS),
  /** A plain-text file to use instead of the bundled corpus. */
  corpusPath: z.string().min(1).optional(),
  /** Maximum words per sentence (SaSPartitioner's `maxWordsPerLine`). Default 10. */
  maxWordsPerLine: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_WORDS_PER_LINE),
});

/** Parsed `wordcount` parameters. */
export type WordcountParams = z.infer<typeof wordcountParams>;

/** Encoded word-count partial: parallel arrays of word ids and counts (structured-cloneable, transferable). */
export interface EncodedWordCounts {
  readonly words: Int32Array;
  readonly counts: Int32Array;
}

/**
 * The `wordcount` operator (windowed). Partial = word id → count of one (window, key).
 * `add` counts the sentence's words `multiplier` times into the partial (each a real hash probe and
 * store), then subtracts multiplier − 1 per occurrence, so the work is ≈ multiplier× and the counts
 * stay exact. cost = words × multiplier. `output` = [wordId, count] pairs sorted by word id.
 */
export function createWordcount(params: WordcountParams, payloads: PayloadStore): TaskOperator<CountMap> {
  const sentenceOf = payloads.sentence?.bind(payloads);
  if (!sentenceOf) throw new ConfigError('task wordcount needs text payloads (a corpus or a key,text CSV)', { field: 'task.name', expected: 'text payloads' });
  const m = params.multiplier;
  return {
    name: 'wordcount',
    kind: 'windowed',
    cost: (payload) => sentenceOf(payload).length * m,
    create: () => new CountMap(32), // a sentence has up to 10 words: no grow on the first record (callgrind: −3 % instructions)
    add(partial, _key, payload) {
      const words = sentenceOf(payload);
      const n = words.length;
      for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) partial.add(words[i], 1);
      if (m > 1) for (let i = 0; i < n; i++) partial.add(words[i], 1 - m);
    },
    merge(into, from) {
      into.addAll(from);
    },
    encode(partial): EncodedWordCounts {
      let n = 0;
      partial.forEach(() => n++);
      const words = new Int32Array(n);
      const counts = new Int32Array(n);
      let j = 0;
      partial.forEach((w, c) => {
        words[j] = w;
        counts[j++] = c;
      });
      return { words, counts };
    },
    decode(data) {
      const d = data as EncodedWordCounts;
      const map = new CountMap(Math.max(16, d.words.length * 2 + 1));
      for (let i = 0; i < d.words.length; i++) map.add(d.words[i], d.counts[i]);
      return map;
    },
    output: (partial) => partial.entries(),
    stateBytes: (partial) => 16 * partial.size + 64, // interleaved (id, count) slots, about half full
  };
}
