import { describe, expect, it } from 'vitest';
import { choosePartSize, MAX_PARTS, MIN_PART_SIZE } from '../../adapters/s3/part-size.js';

const MiB = 1024 * 1024;
const TB = 1e12;

describe('s3: part size', () => {
  it('a 1 TB archive with a known size or size hint fits under 10,000 parts', () => {
    for (const size of [TB, 1024 ** 4, 5 * TB]) {
      const part = choosePartSize(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(9_000);
    }
  });

  it('an archive of unknown size still has room for 1 TB', () => {
    expect(choosePartSize(undefined) * MAX_PARTS).toBeGreaterThanOrEqual(1.2 * TB);
  });

  it('part_size is a floor, clamped to S3 limits and rounded to whole MiB', () => {
    expect(choosePartSize(10 * MiB, 64 * MiB)).toBe(64 * MiB);
    expect(choosePartSize(10 * MiB, 1)).toBe(MIN_PART_SIZE);
    expect(choosePartSize(100 * TB)).toBe(5 * 1024 * MiB);
    expect(choosePartSize(123_456_789_012) % MiB).toBe(0);
  });
});
