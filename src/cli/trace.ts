// A "file trace" for comparisons, derived from the bundled corpus: real, skewed keys with string ids.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tokenize } from '../tasks/index.js';
import { packageRoot } from '../report/index.js';
import { join } from 'node:path';

/**
 * Writes a CSV trace made from the bundled corpus (Alice's Adventures in Wonderland), one row per
 * sentence of at most 10 words in book order: `format: 'text'` rows are `firstWord,sentence`;
 * `format: 'values'` rows are `firstWord,len1,len2,…` (the word lengths). The key distribution is the
 * book's first-word distribution: real, heavily skewed, and keyed by strings, so replay exercises
 * interning. Deterministic; returns the number of rows.
 */
export function writeCorpusTrace(path: string, format: 'text' | 'values'): number {
  const text = readFileSync(join(packageRoot(), 'data/corpus/alice.txt'), 'utf8');
  const rows: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const words = tokenize(para);
    for (let i = 0; i < words.length; i += 10) {
      const s = words.slice(i, i + 10);
      rows.push(format === 'text' ? `${s[0]},${s.join(' ')}` : `${s[0]},${s.map((w) => w.length).join(',')}`);
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, rows.join('\n') + '\n');
  return rows.length;
}
