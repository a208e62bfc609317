// Tokenizer and text payload store, including the bundled corpus.
import { describe, expect, it } from 'vitest';
import { FileNotFoundError, DataError } from '../../src/common/errors.js';
import { loadTextStore, stripGutenberg, TextStore, tokenize } from '../../src/tasks/index.js';

describe('tokenize', () => {
  it('lower-cases, drops apostrophes inside words and splits on other punctuation', () => {
    expect(tokenize("'Don't,' said the Rabbit-Hole; _I_ shan't--9 LIVES!")).toEqual(['dont', 'said', 'the', 'rabbit', 'hole', 'i', 'shant', '9', 'lives']);
    expect(tokenize('  ...  ')).toEqual([]);
    expect(tokenize('Misérables café')).toEqual(['misérables', 'café']);
  });
});

describe('TextStore', () => {
  it('splits paragraphs into sentences of at most maxWordsPerLine words and interns ids in first-seen order', () => {
    const s = new TextStore('a b c d e\nf g\n\nA, B!\n\n\n', 3);
    // paragraph 1: a b c d e f g -> [a b c] [d e f] [g]; paragraph 2: [a b]
    expect(s.size).toBe(4);
    expect(s.sentences.map((x) => [...x])).toEqual([[0, 1, 2], [3, 4, 5], [6], [0, 1]]);
    expect(s.vocabulary.word(6)).toBe('g');
    expect(s.totalWords).toBe(9);
  });
  it('keeps only the text between Project Gutenberg START and END markers', () => {
    const t = 'license\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbody text\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nmore license';
    expect(stripGutenberg(t)).toBe('body text');
    expect(new TextStore(t, 10).vocabulary.size).toBe(2);
  });
  it('rejects a text without words and a bad maxWordsPerLine with DataError', () => {
    expect(() => new TextStore('... !!!\n', 10)).toThrow(DataError);
    expect(() => new TextStore('a b', 0)).toThrow(DataError);
  });
  it('loads the bundled corpus once per thread, without the Gutenberg license', () => {
    const s = loadTextStore();
    expect(loadTextStore({ maxWordsPerLine: 10 })).toBe(s);
    expect([...s.sentences[0]].map((id) => s.vocabulary.word(id))).toEqual(['alices', 'adventures', 'in', 'wonderland']);
    expect(s.size).toBeGreaterThan(500);
    for (const x of s.sentences) expect(x.length >= 1 && x.length <= 10).toBe(true);
    expect(s.vocabulary.lookup('gutenberg')).toBe(-1);
    expect(s.vocabulary.lookup('license')).toBe(-1);
  });
  it('a missing corpus file is a FileNotFoundError', () => {
    expect(() => loadTextStore({ corpusPath: '/nonexistent/book.txt' })).toThrow(FileNotFoundError);
    expect(() => loadTextStore({ corpus: 'no-such-corpus' })).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
  });
});
