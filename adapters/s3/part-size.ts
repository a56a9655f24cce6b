/**
 * Multipart part sizing. S3 allows at most 10,000 parts of 5 MiB–5 GiB each
 * (the last part may be smaller), and the part size is fixed before the
 * first byte is read, so it must be chosen from what is known up front.
 *
 * Memory: the uploader buffers whole parts, so one upload holds about
 * part size × (queue size + 1) bytes (queue size parts in flight plus the one
 * being filled). With the defaults and an unknown size that is
 * 128 MiB × 3 = 384 MiB at worst; a known small archive only ever buffers
 * what it contains.
 */

const MiB = 1024 * 1024;

export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
/** Parts planned for when the size is known: 10% headroom for a size hint that undershoots. */
export const PLANNED_PARTS = 9_000;
/** Part size used when the archive size is known and small. */
export const DEFAULT_PART_SIZE = 16 * MiB;
/** Part size used when nothing is known: 128 MiB × 10,000 parts ≈ 1.34 TB (1.25 TiB). */
export const UNKNOWN_SIZE_PART_SIZE = 128 * MiB;
/** Parts uploaded in parallel by default. Small, so memory stays bounded. */
export const DEFAULT_QUEUE_SIZE = 2;

/**
 * The part size for one upload: at least `configured`, and large enough that
 * `expectedBytes` (an exact size or an upper-bound hint) fits in 9,000 parts.
 * When the size is unknown it is at least 128 MiB, so up to ~1.3 TB fits.
 * The result is a whole number of MiB within S3's 5 MiB–5 GiB limits.
 */
export function choosePartSize(expectedBytes: number | undefined, configured: number = DEFAULT_PART_SIZE): number {
  const needed =
    expectedBytes === undefined || !Number.isFinite(expectedBytes)
      ? UNKNOWN_SIZE_PART_SIZE
      : Math.ceil(Math.max(0, expectedBytes) / PLANNED_PARTS);
  const size = Math.max(configured, MIN_PART_SIZE, needed);
  return Math.min(MAX_PART_SIZE, Math.ceil(size / MiB) * MiB);
}
