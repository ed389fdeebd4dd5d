import { describe, expect, it } from 'vitest';
import { PALETTE } from '../../src/web/draw-boxes.js';
import { colorsForUrl, queryColors } from '../../src/web/query-colors.js';

describe('query colours', () => {
  it("gives each query the colour the URL gave it, when the server merges duplicates", () => {
    // q=red+square&q=Red+Square&q=purple+circle&color=ff0000&color=00ff00&color=0000ff: the server
    // answers for ["red square", "purple circle"]; purple circle is the URL's third query
    const colorOf = queryColors(['red square', 'Red Square', 'purple circle'], ['#ff0000', '#00ff00', '#0000ff']);
    expect(['red square', 'purple circle'].map(colorOf)).toEqual(['#ff0000', '#0000ff']);
  });

  it('takes the palette in order of the distinct queries when no colour is given', () => {
    const colorOf = queryColors(['a', 'A', 'b'], []);
    expect(['a', 'b'].map(colorOf)).toEqual([PALETTE[0], PALETTE[1]]);
    expect(colorOf('never asked')).toBe(PALETTE[2]);
    expect(colorOf('never asked')).toBe(PALETTE[2]); // and keeps it
  });

  it("writes the colours for the server's queries so that a URL reads back to the same colours", () => {
    const colorOf = queryColors(['red square', 'Red Square', 'purple circle'], ['#ff0000', '#00ff00', '#0000ff']);
    const colors = colorsForUrl(['red square', 'purple circle'], colorOf);
    expect(colors).toEqual(['#ff0000', '#0000ff']);
    const back = queryColors(['red square', 'purple circle'], colors);
    expect(['red square', 'purple circle'].map(back)).toEqual(['#ff0000', '#0000ff']);
    expect(colorsForUrl(['a', 'b'], queryColors(['a', 'b']))).toEqual([]); // the palette's own: nothing to write
  });
});
