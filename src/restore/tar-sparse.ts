import type { ByteReader } from './byte-reader.js';
import { BLOCK, numeric, paxInteger, type PaxRecords, type RawHeader } from './tar-header.js';

/** One stretch of real data in a sparse file; everything between stretches is a hole (zeros). */
export interface Segment {
  offset: number;
  length: number;
}

export interface SparseMap {
  segments: Segment[];
  /** The file's size once restored. */
  realSize: number;
  /** Bytes at the start of the stored data that held the map (format 1.0), already consumed. */
  mapBytes: number;
}

/** Upper bound for a sparse map's own size (extension blocks or a 1.0 map), as for pax headers. */
const MAP_LIMIT = 1024 * 1024;

/**
 * The sparse map of an entry in any of GNU tar's sparse formats: old GNU
 * (type `S`, map in the header and extension blocks), or pax 0.0
 * (`GNU.sparse.offset`/`numbytes` pairs), 0.1 (`GNU.sparse.map`) and 1.0
 * (the map at the start of the data). Extension blocks and a 1.0 map are
 * consumed from `r`. Returns undefined for an entry that is not sparse, and
 * a reason (to refuse the entry with) when the map is unsupported,
 * malformed, or does not match the stored data.
 */
export async function readSparseMap(h: RawHeader, pax: PaxRecords | undefined, r: ByteReader, stored: number): Promise<SparseMap | string | undefined> {
  const values = pax?.values ?? new Map<string, string>();
  let map: SparseMap | string;
  if (h.typeflag === 'S') map = await oldGnu(h, r);
  else if (values.has('GNU.sparse.major') || values.has('GNU.sparse.minor')) {
    const version = `${values.get('GNU.sparse.major') ?? '?'}.${values.get('GNU.sparse.minor') ?? '?'}`;
    if (version !== '1.0') return `unsupported GNU sparse format ${version}`;
    map = await version10(values, r);
  } else if (values.has('GNU.sparse.map')) {
    map = fromPairs(values.get('GNU.sparse.map')!.split(',').map(Number), values.get('GNU.sparse.size'));
  } else if (pax?.sparsePairs.length || values.has('GNU.sparse.size') || values.has('GNU.sparse.numblocks')) {
    map = fromPairs(pax?.sparsePairs ?? [], values.get('GNU.sparse.size'));
  } else return undefined;
  if (typeof map === 'string') return map;
  return check(map, stored) ?? map;
}

async function oldGnu(h: RawHeader, r: ByteReader): Promise<SparseMap | string> {
  const segments: Segment[] = [];
  const take = (block: Buffer, start: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const at = start + i * 24;
      if (block[at] === 0) break;
      segments.push({ offset: numeric(block, at, 12, 'sparse offset'), length: numeric(block, at + 12, 12, 'sparse length') });
    }
  };
  try {
    take(h.block, 386, 4);
    let extended = h.block[482] !== 0;
    for (let blocks = 0; extended; blocks++) {
      if (blocks * BLOCK > MAP_LIMIT) return 'its sparse map is too large';
      const ext = await r.read(BLOCK);
      if (ext.length < BLOCK) return 'the archive ends inside its sparse map';
      take(ext, 0, 21);
      extended = ext[504] !== 0;
    }
    return { segments, realSize: numeric(h.block, 483, 12, 'sparse size'), mapBytes: 0 };
  } catch (err) {
    return `its sparse map is malformed (${(err as Error).message})`;
  }
}

async function version10(values: Map<string, string>, r: ByteReader): Promise<SparseMap | string> {
  const realSize = paxInteger(values.get('GNU.sparse.realsize') ?? '');
  if (realSize === undefined) return 'its GNU.sparse.realsize is missing or not a number';
  let text = '';
  let mapBytes = 0;
  for (;;) {
    const lines = text.split('\n');
    const count = Number(lines[0]);
    if (lines.length > 1 && (!/^\d+$/.test(lines[0]!) || count > MAP_LIMIT)) return 'its sparse map is malformed';
    if (lines.length > 1 && lines.length - 1 >= 2 * count + 1) {
      const numbers = lines.slice(1, 2 * count + 1);
      if (numbers.some((n) => !/^\d+$/.test(n))) return 'its sparse map is malformed';
      const map = fromPairs(numbers.map(Number), String(realSize));
      if (typeof map === 'string') return map;
      return { ...map, mapBytes };
    }
    if (mapBytes >= MAP_LIMIT) return 'its sparse map is too large';
    const block = await r.read(BLOCK);
    if (block.length < BLOCK) return 'the archive ends inside its sparse map';
    mapBytes += BLOCK;
    text += block.toString('latin1');
  }
}

function fromPairs(pairs: number[], size: string | undefined): SparseMap | string {
  const realSize = paxInteger(size ?? '');
  if (realSize === undefined) return 'its GNU.sparse.size is missing or not a number';
  if (pairs.length % 2 || pairs.some((n) => !Number.isSafeInteger(n) || n < 0)) return 'its sparse map is malformed';
  const segments: Segment[] = [];
  for (let i = 0; i < pairs.length; i += 2) segments.push({ offset: pairs[i]!, length: pairs[i + 1]! });
  return { segments, realSize, mapBytes: 0 };
}

/** Segments must be in order, must not overlap, must lie inside the file and must add up to the stored data. */
function check(map: SparseMap, stored: number): string | undefined {
  let end = 0;
  let total = 0;
  for (const s of map.segments) {
    if (s.offset < end || s.offset + s.length > map.realSize) return 'its sparse map is out of order or outside the file';
    end = s.offset + s.length;
    total += s.length;
  }
  if (total !== stored - map.mapBytes) return `its sparse map holds ${total} bytes but ${stored - map.mapBytes} are stored`;
  return undefined;
}
