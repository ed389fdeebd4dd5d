import { describe, expect, it } from 'vitest';
import { keptFragment, overlayUrl, PAGE_DEFAULTS, pageParams, pageQuery, parseColor, parsePageOptions, splitQueries } from '../../src/web/page-params.js';

const parse = (query: string, hash = '', requireStream = true) => parsePageOptions(pageParams(query, hash), requireStream);

describe('page URL parameters', () => {
  it('reads stream, repeated queries and every option, with defaults for the rest', () => {
    const { options, errors } = parse('?stream=cam1&q=red+circle&q=Blue%20Square&threshold=0.2&color=%23ff0000&color=00ff00&labelSize=24&scores=0&smoothing=0&fit=cover&maxRate=5&hold=0&lineWidth=4');
    expect(errors).toEqual([]);
    expect(options).toEqual({
      stream: 'cam1',
      queries: ['red circle', 'Blue Square'],
      threshold: 0.2,
      maxRate: 5,
      colors: ['#ff0000', '#00ff00'],
      labelSize: 24,
      lineWidth: 4,
      scores: false,
      smoothing: 0,
      hold: 0,
      fit: 'cover',
    });
    const d = parse('?stream=demo&q=star').options;
    expect([d.labelSize, d.lineWidth, d.scores, d.smoothing, d.hold, d.fit]).toEqual([
      PAGE_DEFAULTS.labelSize,
      PAGE_DEFAULTS.lineWidth,
      PAGE_DEFAULTS.scores,
      PAGE_DEFAULTS.smoothing,
      PAGE_DEFAULTS.hold,
      PAGE_DEFAULTS.fit,
    ]);
    expect(d.threshold).toBeUndefined();
  });

  it('takes the token from the fragment, where it stays out of server logs', () => {
    expect(parse('?stream=demo&q=star', '#token=s3cret').options.token).toBe('s3cret');
    expect(parse('?stream=demo&q=star&token=a', '#token=b').options.token).toBe('b');
    // pasted as it is: a base64 token's + and / and = are themselves (URLSearchParams made + a space)
    expect(parse('?stream=demo&q=star', '#token=k9+Zp/Qe7rT2+xYw==abc').options.token).toBe('k9+Zp/Qe7rT2+xYw==abc');
    expect(parse('?stream=demo&q=star', '#token=k9%2BZp%2FQe7rT2%2BxYw%3D%3Dabc').options.token).toBe('k9+Zp/Qe7rT2+xYw==abc');
    expect(parse('?stream=demo&q=star', '#token=50%').options.token).toBe('50%');
  });

  it('reports every bad value and keeps the default in its place', () => {
    const { options, errors } = parse('?stream=bad%20id&threshold=2&labelSize=x&fit=zoom&color=url(evil)&scores=maybe');
    expect(errors).toHaveLength(7); // stream, no q, threshold, labelSize, fit, color, scores
    expect(errors.join('\n')).toMatch(/stream must be a stream id[\s\S]*threshold must be a number in \[0, 1\]/);
    expect(options.stream).toBeUndefined();
    expect([options.threshold, options.labelSize, options.fit, options.colors, options.scores]).toEqual([undefined, 16, 'contain', [], true]);
  });

  it('needs a stream and a query only for the overlay', () => {
    expect(parse('', '', true).errors).toEqual(['stream is required, e.g. ?stream=demo', 'at least one q is required, e.g. &q=red+circle']);
    expect(parse('', '', false).errors).toEqual([]);
    expect(parse('?stream=demo&q=%20%20', '', true).errors).toHaveLength(1);
  });

  it('accepts CSS colours a URL can carry', () => {
    expect(['ff0000', '#abc', 'rgb(1, 2, 3)', 'hsl(120 50% 50%)', 'orange'].map(parseColor)).toEqual(['#ff0000', '#abc', 'rgb(1, 2, 3)', 'hsl(120 50% 50%)', 'orange']);
    expect(['', 'red;x', 'url(x)', '#12345', 'expression(1)'].map(parseColor)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // names CSS knows only (a typo drew in whatever colour the canvas had before), any case
    expect(['RebeccaPurple', 'tomato'].map(parseColor)).toEqual(['rebeccapurple', 'tomato']);
    expect(['blorb', 'zzzz', 'redd', 'constructor', 'toString'].map(parseColor)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(parse('stream=demo&q=star&color=blorb').errors).toEqual([expect.stringContaining('color "blorb" is not a colour')]);
  });

  it('writes an overlay URL that reads back to the same settings', () => {
    const url = overlayUrl({ stream: 'demo', queries: ['red circle', 'a&b'], threshold: 0.25, colors: ['#00ff00'] });
    expect(url).toBe('overlay?stream=demo&q=red+circle&q=a%26b&threshold=0.25&color=00ff00');
    const o = parse(url.slice('overlay'.length)).options;
    expect([o.stream, o.queries, o.threshold, o.colors]).toEqual(['demo', ['red circle', 'a&b'], 0.25, ['#00ff00']]);
    // styles that differ from the defaults, and the token (in the fragment, kept out of server logs)
    const styled = overlayUrl({ stream: 'demo', queries: ['star'], style: { ...PAGE_DEFAULTS, lineWidth: 5, scores: false, fit: 'cover' }, token: 'tok en/1' });
    expect(styled).toBe('overlay?stream=demo&q=star&lineWidth=5&scores=0&fit=cover#token=tok%20en%2F1');
    const [query, hash] = styled.slice('overlay'.length).split('#');
    const back = parse(query!, hash).options;
    expect([back.lineWidth, back.scores, back.fit, back.token, back.labelSize]).toEqual([5, false, 'cover', 'tok en/1', PAGE_DEFAULTS.labelSize]);
  });

  it('splits q at commas, as the viewer splits what is typed in its field', () => {
    expect(parse('?stream=demo&q=red+square,purple+circle&q=star').options.queries).toEqual(['red square', 'purple circle', 'star']);
    expect(parse('?stream=demo&q=red+square%2C+purple+circle').options.queries).toEqual(['red square', 'purple circle']);
    expect(splitQueries('red square, purple circle')).toEqual(['red square', 'purple circle']);
    expect(parse('?stream=demo&q=,,').errors).toEqual(['at least one q is required, e.g. &q=red+circle']);
  });

  it('reports a misspelt parameter with the one meant, and leaves one that looks like none of ours (a cache-buster) alone', () => {
    const { errors, ignored } = parse('?stream=demo&q=star&treshold=0.5&labelsize=24&Fit=cover&colour=ff0000&volume=3&v=2', '#tokne=abc');
    expect(errors).toEqual([
      'unknown parameter "treshold" (did you mean threshold?)',
      'unknown parameter "labelsize" (did you mean labelSize?)',
      'unknown parameter "Fit" (did you mean fit?)',
      'unknown parameter "colour" (did you mean color?)',
      'unknown parameter "tokne" (did you mean token?)',
    ]);
    expect(ignored).toEqual(['volume', 'v']);
    expect(parse('?stream=demo&q=star&q=moon').errors).toEqual([]); // a repeated known one is fine
  });

  it('reads + in the fragment as a space, but in a token as a plus', () => {
    const o = parse('', '#stream=demo&q=red+square&token=k9+Zp/Q==').options;
    expect([o.queries, o.token]).toEqual([['red square'], 'k9+Zp/Q==']);
    expect(parse('', '#stream=demo&q=a%2Bb').options.queries).toEqual(['a+b']); // an escaped plus is a plus
  });

  it("round-trips the viewer's rewritten address: settings in the query string, only the token left in the fragment", () => {
    const hash = '#q=red+square&labelSize=20&token=k9+Zp/Q==';
    const first = parse('?stream=demo', hash, false).options;
    // what the viewer writes once the server acknowledged (its query normalised)
    const address = `?${pageQuery({ stream: 'demo', queries: ['red square'], style: { labelSize: first.labelSize } })}`;
    expect(address).toBe('?stream=demo&q=red+square&labelSize=20');
    expect(keptFragment(hash)).toBe('#token=k9%2BZp%2FQ%3D%3D');
    const again = parse(address, keptFragment(hash), false).options;
    expect([again.stream, again.queries, again.labelSize, again.token]).toEqual(['demo', ['red square'], 20, 'k9+Zp/Q==']);
    expect(keptFragment('#q=x')).toBe('');
  });

  it('carries maxRate into the overlay URL', () => {
    expect(overlayUrl({ stream: 'demo', queries: ['star'], style: { ...PAGE_DEFAULTS, maxRate: 5 } })).toBe('overlay?stream=demo&q=star&maxRate=5');
  });
});
