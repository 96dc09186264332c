// The page size of SQLite databases (store/db.ts): a new file gets 16 KiB
// pages, an existing one keeps its own (SQLite cannot change it without a
// VACUUM, which is left to the operator), KANADE_SQLITE_PAGE_SIZE picks
// another for a new file, and a bad value is refused before anything opens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDb, PAGE_SIZE } from '../src/store/db.js';

const dir = mkdtempSync(join(tmpdir(), 'kanade-pages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.KANADE_SQLITE_PAGE_SIZE;
});

const pageSize = (db: { pragma(s: string, o: { simple: true }): unknown }) =>
  db.pragma('page_size', { simple: true });
const autocheckpoint = (db: { pragma(s: string, o: { simple: true }): unknown }) =>
  db.pragma('wal_autocheckpoint', { simple: true });

describe('SQLite page size', () => {
  it('creates a new database with 16 KiB pages and a WAL threshold of 80 MiB in them', () => {
    const db = openDb(join(dir, 'new.db'));
    expect(PAGE_SIZE).toBe(16_384);
    expect(pageSize(db)).toBe(16_384);
    expect(autocheckpoint(db)).toBe(5120);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps the page size of an existing database, with its data', () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.pragma('page_size = 4096');
    old.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('before')");
    old.close();
    const db = openDb(path);
    expect(pageSize(db)).toBe(4096);
    expect(autocheckpoint(db)).toBe(20_480);
    expect(db.prepare('SELECT v FROM kept').pluck().get()).toBe('before');
    // migrated as usual
    expect(
      db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'execution_results'").pluck().get(),
    ).toBe(1);
    db.close();
  });

  it('takes another size for a new database from KANADE_SQLITE_PAGE_SIZE, and refuses a bad one', () => {
    process.env.KANADE_SQLITE_PAGE_SIZE = '4096';
    const db = openDb(join(dir, 'chosen.db'));
    expect(pageSize(db)).toBe(4096);
    db.close();
    // The caller's choice wins (the benchmark's baseline of upstream's shape keeps SQLite's default).
    const own = openDb(join(dir, 'own.db'), { pageSize: 8192 });
    expect(pageSize(own)).toBe(8192);
    own.close();
    for (const bad of ['3000', '256', '131072', 'big']) {
      process.env.KANADE_SQLITE_PAGE_SIZE = bad;
      expect(() => openDb(join(dir, `bad-${bad}.db`))).toThrow(
        /KANADE_SQLITE_PAGE_SIZE must be a power of two/,
      );
    }
  });
});
