// Pure parts of object transfers: Range parsing (RFC 9110 single ranges)
// and the release platform detected from a file's first bytes.
import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/http/routes/object-transfer.js';
import { detectPlatform } from '../src/services/releases.js';

describe('parseRange', () => {
  it('reads first-last, open-ended and suffix ranges, clamped to the object', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=900-5000', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  });

  it('is unsatisfiable outside the object, and ignored when malformed or multi-range', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-4', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-0', 0)).toBe('unsatisfiable');
    expect(parseRange(undefined, 1000)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
    expect(parseRange('items=0-1', 1000)).toBeUndefined();
  });
});

describe('detectPlatform', () => {
  const bytes = (...b: number[]) => new Uint8Array([...b, ...new Array(32).fill(0)]);
  it('knows PE, ELF (x86_64, aarch64) and Mach-O (x86_64, arm64); anything else is the node bundle', () => {
    expect(detectPlatform(bytes(0x4d, 0x5a))).toBe('windows');
    const elf = (machine: number) => {
      const h = bytes(0x7f, 0x45, 0x4c, 0x46, 2, 1);
      h[18] = machine;
      return h;
    };
    expect(detectPlatform(elf(0x3e))).toBe('linux-x86_64');
    expect(detectPlatform(elf(0xb7))).toBe('linux-aarch64');
    expect(detectPlatform(bytes(0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01))).toBe('macos-aarch64');
    expect(detectPlatform(bytes(0xcf, 0xfa, 0xed, 0xfe, 0x07, 0, 0, 0x01))).toBe('macos-x86_64');
    expect(detectPlatform(new TextEncoder().encode('// kanade-agent release bundle\n'))).toBe('node');
    expect(detectPlatform(new Uint8Array(0))).toBe('node');
  });
});
