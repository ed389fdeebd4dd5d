/** Events a second over a sliding window (results/s, frames shown/s). Pure; `now` in ms. */
export class RateMeter {
  private readonly times: number[] = [];

  /** `windowMs`: how far back to count. Default 2000. */
  constructor(private readonly windowMs = 2000) {}

  tick(now: number): void {
    this.times.push(now);
    this.trim(now);
  }

  /** Events a second at `now`; 0 before two events. */
  rate(now: number): number {
    this.trim(now);
    if (this.times.length < 2) return 0;
    const span = Math.max(now - this.times[0]!, this.windowMs / 2);
    return ((this.times.length - 1) * 1000) / span;
  }

  reset(): void {
    this.times.length = 0;
  }

  private trim(now: number): void {
    while (this.times.length && now - this.times[0]! > this.windowMs) this.times.shift();
  }
}
