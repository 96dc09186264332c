// URL state merges: removals, repeated keys and the page reset.
import { describe, expect, it } from 'vitest';
import { applyChanges, pageOf } from '../src/lib/url-state.js';

describe('url state', () => {
  it('sets, removes and resets the page', () => {
    const prev = new URLSearchParams('q=a&page=3&status=online');
    expect(applyChanges(prev, { q: 'b', status: null }, true).toString()).toBe('q=b');
    expect(applyChanges(prev, { q: '' }, false).toString()).toBe('page=3&status=online');
    expect(applyChanges(prev, { page: '4' }, true).toString()).toBe('q=a&status=online&page=4');
  });

  it('writes repeated keys from arrays', () => {
    const prev = new URLSearchParams('f=a&f=b&job=x');
    expect(applyChanges(prev, { f: ['c', 'd'] }, true).toString()).toBe('job=x&f=c&f=d');
    expect(applyChanges(prev, { f: [] }, true).toString()).toBe('job=x');
  });

  it('reads 1-based pages as 0-based', () => {
    expect(pageOf(new URLSearchParams('page=3'))).toBe(2);
    expect(pageOf(new URLSearchParams('page=x'))).toBe(0);
    expect(pageOf(new URLSearchParams(''))).toBe(0);
  });
});
