import { describe, expect, it } from 'vitest';
import { overlayUrl, PAGE_DEFAULTS, pageParams, parseColor, parsePageOptions } from '../../src/web/page-params.js';

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
});
