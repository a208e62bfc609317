// The `text` payload store: a plain-text corpus preprocessed into interned sentences (SaS §5.1).
import { DataError } from '../../common/errors.js';
import { chunk, tokenize, Vocabulary } from '../text/tokenize.js';
import type { PayloadStore } from '../types.js';
import { bundledCorpusPath, resolveUserPath } from './paths.js';
import { readDataFile } from './read.js';

/** Default maximum words per sentence (SaSPartitioner's `maxWordsPerLine`). */
export const DEFAULT_MAX_WORDS_PER_LINE = 10;
/** Default bundled corpus: Alice's Adventures in Wonderland (data/corpus/alice.txt). */
export const DEFAULT_CORPUS = 'alice';

/**
 * Keeps the text between Project Gutenberg's "*** START OF …" and "*** END OF …" marker lines when they
 * are present (the license boilerplate is not part of the book); otherwise returns `text` unchanged.
 */
export function stripGutenberg(text: string): string {
  const lines = text.split(/\r?\n/);
  let start = 0;
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (/^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG/i.test(lines[i])) start = i + 1;
    else if (/^\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG/i.test(lines[i])) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}

/**
 * A corpus preprocessed like SaSPartitioner: the words of each paragraph (lines up to a blank line) are
 * tokenized (see `tokenize`) and split into consecutive sentences of `maxWordsPerLine` words (the
 * paragraph's last sentence may be shorter); paragraphs without words yield nothing. Word
 * ids are interned in first-seen order, so the same file and `maxWordsPerLine` give the same ids in
 * every thread. Invariant: every sentence has 1..maxWordsPerLine words.
 */
export class TextStore implements PayloadStore {
  readonly kind = 'text' as const;
  readonly vocabulary: Vocabulary;
  readonly sentences: readonly Int32Array[];
  readonly size: number;
  /** Total words over all sentences. */
  readonly totalWords: number;

  constructor(text: string, maxWordsPerLine: number, source = '(inline text)') {
    if (!Number.isInteger(maxWordsPerLine) || maxWordsPerLine < 1) {
      throw new DataError(`maxWordsPerLine must be a positive integer, got ${maxWordsPerLine}`, { source });
    }
    const vocab = new Vocabulary();
    const sentences: Int32Array[] = [];
    let total = 0;
    let para: string[] = [];
    const flush = (): void => {
      for (const s of chunk(vocab.internAll(para), maxWordsPerLine)) {
        sentences.push(s);
        total += s.length;
      }
      para = [];
    };
    for (const line of stripGutenberg(text).split(/\r?\n/)) {
      if (line.trim() === '') flush();
      else for (const w of tokenize(line)) para.push(w);
    }
    flush();
    if (sentences.length === 0) throw new DataError(`corpus ${source} has no words`, { source });
    this.vocabulary = vocab;
    this.sentences = sentences;
    this.size = sentences.length;
    this.totalWords = total;
  }

  /** Word ids of sentence `id` (a shared view: callers must not modify it). */
  sentence(id: number): Int32Array {
    return this.sentences[id];
  }
}

/** Where a text store comes from: a bundled corpus name or a file path (the path wins). */
export interface TextSource {
  /** Bundled corpus name under data/corpus (default "alice"). */
  corpus?: string;
  /** A plain-text file to use instead of a bundled corpus. */
  corpusPath?: string;
  /** Default 10. */
  maxWordsPerLine?: number;
}

const cache = new Map<string, TextStore>();

/**
 * The text store for `src`, built once per thread and cached by (file, maxWordsPerLine).
 * FileNotFoundError when the file does not exist; DataError when it holds no word.
 */
export function loadTextStore(src: TextSource = {}): TextStore {
  const path = src.corpusPath !== undefined ? resolveUserPath(src.corpusPath) : bundledCorpusPath(src.corpus ?? DEFAULT_CORPUS);
  const max = src.maxWordsPerLine ?? DEFAULT_MAX_WORDS_PER_LINE;
  const k = `${path}\u0000${max}`;
  let store = cache.get(k);
  if (!store) {
    store = new TextStore(readDataFile(path, 'text corpus'), max, path);
    cache.set(k, store);
  }
  return store;
}
