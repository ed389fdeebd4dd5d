import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { EmbeddingCache } from '../../src/model/owl/embedding-cache.js';
import { stills } from '../helpers/fixtures.js';

/** An embedding whose every float says which query and which position it is. */
const vec = (id: number, dim: number) => Float32Array.from({ length: dim }, (_, k) => id * 1000 + k);
const read = (c: EmbeddingCache, text: string) => {
  const out = new Float32Array(c.dim + 2).fill(-1);
  return c.copyTo(text, out, 1) ? Array.from(out) : null;
};

describe('EmbeddingCache', () => {
  it('gives back what was stored, at the offset asked, and nothing around it', () => {
    const c = new EmbeddingCache(8);
    const src = new Float32Array([9, 9, ...vec(1, 3), ...vec(2, 3)]);
    c.set('a', src, 2, 3);
    c.set('b', src, 5, 3);
    expect(c.dim).toBe(3);
    expect(read(c, 'a')).toEqual([-1, 1000, 1001, 1002, -1]);
    expect(read(c, 'b')).toEqual([-1, 2000, 2001, 2002, -1]);
    expect(read(c, 'c')).toBeNull();
    // a later set of the same text replaces its row
    c.set('a', vec(7, 3), 0, 3);
    expect(read(c, 'a')).toEqual([-1, 7000, 7001, 7002, -1]);
    expect(c.size).toBe(2);
  });

  it('evicts the least recently used, and a reused row holds only its new query', () => {
    const c = new EmbeddingCache(3);
    for (const [i, t] of ['a', 'b', 'c'].entries()) c.set(t, vec(i + 1, 4), 0, 4);
    expect(read(c, 'a')).not.toBeNull(); // a is now the most recent; b the least
    c.set('d', vec(4, 4), 0, 4);
    expect(read(c, 'b')).toBeNull();
    expect(c.size).toBe(3);
    expect(read(c, 'a')!.slice(1, 5)).toEqual(Array.from(vec(1, 4)));
    expect(read(c, 'c')!.slice(1, 5)).toEqual(Array.from(vec(3, 4)));
    expect(read(c, 'd')!.slice(1, 5)).toEqual(Array.from(vec(4, 4)));
  });

  it('keeps every entry right through thousands of evictions, across slabs', () => {
    const max = 600; // more than two slabs of rows
    const c = new EmbeddingCache(max);
    const dim = 5;
    for (let i = 0; i < 5000; i++) {
      c.set(`q${i}`, vec(i, dim), 0, dim);
      if (i % 7 === 0 && i >= 300) expect(read(c, `q${i - 300}`)).not.toBeNull(); // touched: stays longer
    }
    expect(c.size).toBe(max);
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      const got = read(c, `q${i}`);
      if (!got) continue;
      expect(got.slice(1, 1 + dim)).toEqual(Array.from(vec(i, dim)));
      checked++;
    }
    expect(checked).toBe(max);
    expect(read(c, 'q4999')).not.toBeNull();
    expect(read(c, 'q0')).toBeNull();
  });

  it('starts over when the width changes (another model)', () => {
    const c = new EmbeddingCache(4);
    c.set('a', vec(1, 3), 0, 3);
    c.set('b', vec(2, 6), 0, 6);
    expect(c.dim).toBe(6);
    expect(read(c, 'a')).toBeNull();
    expect(read(c, 'b')!.slice(1, 7)).toEqual(Array.from(vec(2, 6)));
  });
});

describe('the bundled model with a cache smaller than what is asked at once', () => {
  let big: GroundingModel;
  let tiny: GroundingModel;
  beforeAll(async () => {
    big = await loadModel(BUNDLED_MODEL_DIR);
    tiny = await loadModel(BUNDLED_MODEL_DIR, { cacheSize: 3 });
  });
  afterAll(async () => {
    await big.close();
    await tiny.close();
  });

  it('gives every query its own embedding while concurrent calls evict each other', async () => {
    const sets = [
      ['red circle', 'blue square', 'green star', 'purple cross'],
      ['yellow triangle', 'red circle', 'white star'],
      ['blue square', 'black cross', 'orange circle', 'green star', 'yellow triangle'],
      ['white star', 'red circle'],
    ];
    const embeds = (q: unknown) => Array.from((q as { embeds: Float32Array }).embeds);
    const want = await Promise.all(sets.map((s) => big.prepareQueries(s)));
    // several rounds, all calls of a round in flight together: rows are evicted and reused while
    // other calls await the text encoder
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(sets.map((s) => tiny.prepareQueries(s)));
      got.forEach((g, i) => expect(embeds(g)).toEqual(embeds(want[i])));
    }
    const path = stills()[1]!.path;
    expect((await tiny.detect(readFileSync(path), sets[2]!)).detections).toEqual((await big.detect(readFileSync(path), sets[2]!)).detections);
  });
});
