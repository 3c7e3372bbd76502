/**
 * Reads a SQLite write-ahead log (https://www.sqlite.org/fileformat2.html#walformat) to tell a torn
 * tail, which is normal after a crash, from damage, which SQLite would silently turn into lost calls.
 *
 * The format: a 32-byte header (magic, version, page size, checkpoint sequence, salt-1, salt-2, and a
 * checksum of the first 24 bytes), then frames of a 24-byte header (page number, database size after
 * the commit for a transaction's last frame and 0 otherwise, the two salts, and a checksum) and one
 * page. Each frame's checksum is cumulative: it covers the frame's first 8 bytes and its page, seeded
 * with the previous frame's (the first with the header's). The salts change each time the log restarts
 * from its beginning, so frames of earlier generations left further on do not carry them.
 *
 * On recovery SQLite reads frames in order and stops at the first whose salts or checksum do not
 * match; the transactions after that point are dropped, without an error. That is right for a torn
 * tail: the last transaction was being written when the process died, and was never acknowledged. It
 * is wrong when a complete transaction with the current salts follows: that one was written after the
 * broken frame's transaction had committed (with synchronous=FULL, after its fsync), so the broken
 * frame was on disk, acknowledged, and has since been damaged. Hence the rule here:
 *   damaged ⇔ after the first bad frame there is a commit frame with the current salts (the end of
 *   the bad frame's transaction) followed by more frames with the current salts.
 * E.g. 40 frames, a byte flipped in frame 12 of a transaction ending at frame 13, frames 14–40 with the
 * current salts: damaged (SQLite would drop 29 frames). A kill -9 during the write of frame 40: frames
 * 1–39 valid, 40 short or bad, nothing after: normal.
 */
import * as fs from "node:fs";

const HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;

export interface WalReport {
  /** Complete frames in the file (a trailing partial frame is not one). */
  frames: number;
  /** Why the header is unusable, or null. SQLite ignores every frame of a log whose header is. */
  badHeader: string | null;
  /** 0-based index of the first frame SQLite would reject, or null when all are good. */
  firstBad: number | null;
  /** Page number written in that frame. */
  badPage: number | null;
  /** Frames with the current salts after the end of the bad frame's transaction. */
  framesAfter: number;
  /** Commit frames among those: whole transactions that SQLite would drop. */
  transactionsAfter: number;
}

/** Reads the log at `file` frame by frame (a log holds ~1,000 pages between checkpoints: 4 MB). */
export function inspectWal(file: string): WalReport {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, offset);
      return buf;
    };
    return inspect(size, read);
  } finally {
    fs.closeSync(fd);
  }
}

/** The same on a log in memory (tests). */
export function inspectWalBuffer(wal: Buffer): WalReport {
  return inspect(wal.length, (offset, length) => wal.subarray(offset, offset + length));
}

function inspect(size: number, read: (offset: number, length: number) => Buffer): WalReport {
  const report: WalReport = { frames: 0, badHeader: null, firstBad: null, badPage: null, framesAfter: 0, transactionsAfter: 0 };
  if (size < HEADER) return report; // empty, or a header torn while written first: no frame to lose
  const header = read(0, HEADER);
  const magic = header.readUInt32BE(0);
  const pageSize = header.readUInt32BE(8);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) report.badHeader = `magic number 0x${magic.toString(16)}`;
  else if (!validPageSize(pageSize)) report.badHeader = `page size ${pageSize}`;
  const bigEndian = magic === MAGIC_BE;
  if (report.badHeader === null && !sameSum(checksum(header.subarray(0, 24), [0, 0], bigEndian), header, 24)) report.badHeader = "header checksum";
  if (report.badHeader !== null) {
    // Without a page size nothing can be counted; a log with anything after its header had frames.
    report.frames = validPageSize(pageSize) ? Math.floor((size - HEADER) / (FRAME_HEADER + pageSize)) : size > HEADER ? 1 : 0;
    return report;
  }
  const frameSize = FRAME_HEADER + pageSize;
  report.frames = Math.floor((size - HEADER) / frameSize);
  const salt1 = header.readUInt32BE(16);
  const salt2 = header.readUInt32BE(20);
  const current = (frame: Buffer): boolean => frame.readUInt32BE(8) === salt1 && frame.readUInt32BE(12) === salt2;
  let sum: [number, number] = [header.readUInt32BE(24), header.readUInt32BE(28)];
  let i = 0;
  for (; i < report.frames; i++) {
    const frame = read(HEADER + i * frameSize, frameSize);
    const next = checksum(Buffer.concat([frame.subarray(0, 8), frame.subarray(FRAME_HEADER)]), sum, bigEndian);
    if (frame.readUInt32BE(0) === 0 || !current(frame) || !sameSum(next, frame, 16)) {
      report.firstBad = i;
      report.badPage = frame.readUInt32BE(0);
      break;
    }
    sum = next;
  }
  if (report.firstBad === null) return report;
  let endOfBad: number | null = null;
  for (let j = i; j < report.frames; j++) {
    const frameHeader = read(HEADER + j * frameSize, FRAME_HEADER);
    if (!current(frameHeader)) continue;
    const commit = frameHeader.readUInt32BE(4) !== 0;
    if (endOfBad === null) {
      if (commit) endOfBad = j;
      continue;
    }
    report.framesAfter++;
    if (commit) report.transactionsAfter++;
  }
  return report;
}

/** What is wrong with a log SQLite would read without a word, or null when it may be used. */
export function walDamage(report: WalReport): string | null {
  if (report.badHeader !== null) {
    return report.frames === 0 ? null : `its header is damaged (${report.badHeader}), so SQLite would ignore all ${report.frames} frames in it`;
  }
  if (report.firstBad === null || report.framesAfter === 0) return null;
  return (
    `frame ${report.firstBad + 1} of ${report.frames} (page ${report.badPage}) fails its checksum, and ${report.framesAfter} later frames of the current log ` +
    `(${report.transactionsAfter} committed transactions) follow it; SQLite would drop that frame and everything after it`
  );
}

function validPageSize(n: number): boolean {
  return n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

function sameSum(sum: [number, number], buf: Buffer, offset: number): boolean {
  return buf.readUInt32BE(offset) === sum[0] && buf.readUInt32BE(offset + 4) === sum[1];
}

/** SQLite's WAL checksum: over 32-bit words, in the byte order the magic number names. */
export function checksum(data: Buffer, seed: readonly [number, number], bigEndian: boolean): [number, number] {
  let s0 = seed[0];
  let s1 = seed[1];
  for (let k = 0; k + 8 <= data.length; k += 8) {
    const x0 = bigEndian ? data.readUInt32BE(k) : data.readUInt32LE(k);
    const x1 = bigEndian ? data.readUInt32BE(k + 4) : data.readUInt32LE(k + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}
