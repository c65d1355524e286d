/**
 * bench/soak.ts's verdict on RSS: a saw-tooth that follows the V8 heap's
 * committed size is flat; steady growth outside the heap (a native leak) is not.
 */
import { describe, expect, it } from 'vitest';
import { rssTrend, trendSentence } from '../../bench/soak.js';

/** 30 s windows from t=30 to t=1800. */
const ts = Array.from({ length: 60 }, (_, i) => (i + 1) * 30);

describe('soak RSS trend', () => {
  it('calls a heap saw-tooth flat, and sees nothing growing outside the heap', () => {
    // Heap committed climbs 50 → 85 MiB over 7 minutes, then a major collection gives it back.
    const windows = ts.map((t) => {
      const heapTotalMiB = 50 + ((t % 420) / 420) * 35;
      return { t, heapTotalMiB, rssMiB: 260 + heapTotalMiB };
    });
    const trend = rssTrend(windows, 180);
    expect(trend.windows).toBe(54);
    expect(trend.flat).toBe(true);
    expect(Math.abs(trend.outsideHeapSlopeMiBPerMin)).toBeLessThan(0.01);
    expect(trendSentence(trend)).toMatch(/flat: within 2%/);
  });

  it('calls RSS growing when memory outside the heap climbs 1.7 MiB a minute', () => {
    const windows = ts.map((t) => ({ t, heapTotalMiB: 60, rssMiB: 280 + (1.7 * t) / 60 }));
    const trend = rssTrend(windows, 180);
    expect(trend.flat).toBe(false);
    expect(trend.outsideHeapSlopeMiBPerMin).toBeCloseTo(1.7, 5);
    expect(trend.rssSlopeMiBPerMin).toBeCloseTo(1.7, 5);
    expect(trendSentence(trend)).toMatch(/GROWING/);
  });

  it('uses every window when none is past the warm-up', () => {
    const trend = rssTrend([{ t: 30, heapTotalMiB: 40, rssMiB: 300 }, { t: 60, heapTotalMiB: 40, rssMiB: 301 }], 180);
    expect(trend.windows).toBe(2);
    expect(trend.minMiB).toBe(300);
  });
});
