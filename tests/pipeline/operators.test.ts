import { asyncScheduler, delay, filter, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { latestWhileBusy } from '../../src/pipeline/latest-while-busy.js';
import { rateGate } from '../../src/pipeline/max-rate.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('latestWhileBusy', () => {
  it('runs at once when free and keeps only the newest value while busy', () => {
    const dropped: string[] = [];
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      // work takes 3 frames; b and c arrive while a runs: c replaces b; d, e arrive while c runs
      const src = hot('abc-de------|');
      const out = src.pipe(latestWhileBusy((v) => of(v.toUpperCase()).pipe(delay(3)), (v) => dropped.push(v)));
      expectObservable(out).toBe('---A--C--E--|');
      expectSubscriptions(src.subscriptions).toBe('^-----------!');
    });
    expect(dropped).toEqual(['b', 'd']);
  });

  it('never queues more than one value however fast the source', () => {
    let drops = 0;
    scheduler().run(({ hot, expectObservable }) => {
      const src = hot('abcdefghij|');
      const out = src.pipe(latestWhileBusy((v) => of(v).pipe(delay(20)), () => drops++));
      expectObservable(out).toBe('--------------------a-------------------(j|)');
    });
    expect(drops).toBe(8);
  });

  it('completes only after the running and the waiting work are done', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|').pipe(latestWhileBusy((v) => of(v).pipe(delay(4))));
      expectObservable(out).toBe('----a---(b|)');
    });
  });

  it('with defer, takes a value that arrives between the end of work and the next start', () => {
    const dropped: string[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      // work takes 3 frames, the next start is deferred 2 more: c (frame 4) arrives in that gap,
      // replaces b, and is the one started at frame 5
      const src = hot('a-b-c-------|');
      const defer = (run: () => void) => void asyncScheduler.schedule(run, 2);
      const out = src.pipe(latestWhileBusy((v) => of(v.toUpperCase()).pipe(delay(3)), (v) => dropped.push(v), { defer }));
      expectObservable(out).toBe('---A----C---|');
    });
    expect(dropped).toEqual(['b']);
  });

  it('tears down the running work when unsubscribed', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const work = cold('---x|');
      const out = hot('a---').pipe(latestWhileBusy(() => work));
      expectObservable(out, '^-!').toBe('---');
      expectSubscriptions(work.subscriptions).toBe('^-!');
    });
  });
});

describe('rateGate (a subscriber\'s maxRate)', () => {
  it('passes at most one value per interval and drops the rest', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      // 100 per second = one per 10 ms; values every 4 ms
      const src = cold('a 3ms b 3ms c 3ms d 3ms e 3ms f|');
      expectObservable(src.pipe(filter(rateGate(100, ts)))).toBe('a 11ms d 8ms |');
    });
  });

  it('lets everything through without a rate', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|').pipe(filter(rateGate(undefined)))).toBe('abc|');
    });
  });
});
