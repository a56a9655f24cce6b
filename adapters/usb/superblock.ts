import { open } from 'node:fs/promises';

/** What a filesystem says about itself in its superblock. */
export interface FsIdentity {
  /** ext2, ext3, ext4, vfat, exfat, xfs or btrfs. */
  type: string;
  label?: string;
  /** As blkid prints it: `0b6a9c2e-…` for ext/xfs/btrfs, `1234-ABCD` for FAT and exFAT. */
  uuid?: string;
}

/** Bytes read from the start of the device: enough for every superblock below (btrfs sits at 64 KiB). */
const HEAD_BYTES = 64 * 1024 + 4096;

/**
 * Reads the label and UUID of the filesystem on `device` (a block device or
 * an image file) from its superblock, without udev or blkid. Knows ext2/3/4,
 * FAT12/16/32 (the label from the root directory, as blkid reports it, else
 * the boot sector's), exFAT, XFS and btrfs. Undefined for any other
 * filesystem; rejects when the device cannot be read (EACCES without root).
 */
export async function readFsIdentity(device: string): Promise<FsIdentity | undefined> {
  const fh = await open(device, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(head, 0, HEAD_BYTES, 0);
    const b = head.subarray(0, bytesRead);
    const readAt = async (offset: number, length: number) => {
      const buf = Buffer.alloc(length);
      const r = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, r.bytesRead);
    };
    return ext(b) ?? xfs(b) ?? btrfs(b) ?? (await exfat(b, readAt)) ?? (await fat(b, readAt));
  } finally {
    await fh.close();
  }
}

type ReadAt = (offset: number, length: number) => Promise<Buffer>;

const text = (buf: Buffer, encoding: BufferEncoding = 'utf8') => buf.toString(encoding).replace(/\0[\s\S]*$/, '').trimEnd() || undefined;

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` from 16 bytes. */
function uuid16(buf: Buffer): string | undefined {
  if (buf.length < 16 || buf.every((x) => x === 0)) return undefined;
  const h = buf.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `ABCD-1234` from a 32-bit volume serial number, as blkid shows FAT and exFAT ids. */
const serial = (n: number) => `${(n >>> 16).toString(16).padStart(4, '0')}-${(n & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase();

function ext(b: Buffer): FsIdentity | undefined {
  const sb = 1024;
  if (b.length < sb + 136 || b.readUInt16LE(sb + 56) !== 0xef53) return undefined;
  const compat = b.readUInt32LE(sb + 92);
  const incompat = b.readUInt32LE(sb + 96);
  // extents, 64bit or flex_bg mean ext4; a journal without them ext3.
  const type = incompat & (0x40 | 0x80 | 0x200) ? 'ext4' : compat & 0x4 ? 'ext3' : 'ext2';
  return { type, uuid: uuid16(b.subarray(sb + 104, sb + 120)), label: text(b.subarray(sb + 120, sb + 136)) };
}

function xfs(b: Buffer): FsIdentity | undefined {
  if (b.length < 120 || b.toString('latin1', 0, 4) !== 'XFSB') return undefined;
  return { type: 'xfs', uuid: uuid16(b.subarray(32, 48)), label: text(b.subarray(108, 120)) };
}

function btrfs(b: Buffer): FsIdentity | undefined {
  const sb = 0x10000;
  if (b.length < sb + 0x12b + 256 || b.toString('latin1', sb + 64, sb + 72) !== '_BHRfS_M') return undefined;
  return { type: 'btrfs', uuid: uuid16(b.subarray(sb + 32, sb + 48)), label: text(b.subarray(sb + 0x12b, sb + 0x12b + 256)) };
}

async function exfat(b: Buffer, readAt: ReadAt): Promise<FsIdentity | undefined> {
  if (b.length < 512 || b.toString('latin1', 3, 11) !== 'EXFAT   ') return undefined;
  const sectorBytes = 2 ** b[108]!;
  const clusterBytes = sectorBytes * 2 ** b[109]!;
  const heap = b.readUInt32LE(88) * sectorBytes;
  const rootCluster = b.readUInt32LE(96);
  const root = await readAt(heap + (rootCluster - 2) * clusterBytes, Math.min(clusterBytes, 64 * 1024));
  let label: string | undefined;
  for (let off = 0; off + 32 <= root.length; off += 32) {
    const kind = root[off]!;
    if (kind === 0) break;
    if (kind === 0x83) {
      const chars = Math.min(root[off + 1]!, 11);
      label = text(root.subarray(off + 2, off + 2 + chars * 2), 'utf16le');
      break;
    }
  }
  return { type: 'exfat', uuid: serial(b.readUInt32LE(100)), label };
}

async function fat(b: Buffer, readAt: ReadAt): Promise<FsIdentity | undefined> {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) return undefined;
  const sectorBytes = b.readUInt16LE(11);
  const perCluster = b[13]!;
  const reserved = b.readUInt16LE(14);
  const fats = b[16]!;
  const rootEntries = b.readUInt16LE(17);
  const fatSectors16 = b.readUInt16LE(22);
  if (![512, 1024, 2048, 4096].includes(sectorBytes) || perCluster === 0 || fats === 0) return undefined;
  const fat32 = fatSectors16 === 0;
  const ext = fat32 ? 64 : 36; // where the extended boot record starts
  const fsType = b.toString('latin1', ext + 18, ext + 26);
  if (b[ext + 2] !== 0x29 && !fsType.startsWith('FAT')) return undefined;
  const bootLabel = text(b.subarray(ext + 7, ext + 18), 'latin1');
  const fatSectors = fat32 ? b.readUInt32LE(36) : fatSectors16;
  const rootStart = (reserved + fats * fatSectors) * sectorBytes;
  // FAT12/16: a fixed root directory after the FATs; FAT32: the first cluster of the root directory's chain.
  const rootOffset = fat32 ? rootStart + (b.readUInt32LE(44) - 2) * perCluster * sectorBytes : rootStart;
  const rootBytes = fat32 ? perCluster * sectorBytes : rootEntries * 32;
  const root = await readAt(rootOffset, Math.min(rootBytes, 64 * 1024));
  let label: string | undefined;
  for (let off = 0; off + 32 <= root.length; off += 32) {
    const first = root[off]!;
    if (first === 0) break;
    const attr = root[off + 11]!;
    if (first !== 0xe5 && attr !== 0x0f && (attr & 0x08)) {
      label = text(root.subarray(off, off + 11), 'latin1');
      break;
    }
  }
  label ??= bootLabel === 'NO NAME' ? undefined : bootLabel;
  return { type: 'vfat', uuid: b[ext + 2] === 0x29 ? serial(b.readUInt32LE(ext + 3)) : undefined, label };
}
