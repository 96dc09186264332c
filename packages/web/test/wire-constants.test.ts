// The SPA's copies of wire constants stay equal to @kanade/wire (and the
// roster's meta filter operators to the backend's list).
import * as wire from '@kanade/wire';
import { describe, expect, it } from 'vitest';
import { META_OPS as BACKEND_META_OPS } from '../../backend/src/store/agent-meta.js';
import { CONFIG_FIELDS, EXIT_CODE, FEATURES, META_OPS } from '../src/lib/wire-constants.js';

describe('SPA wire constants', () => {
  it('list the same page features as the backend, in order', () => {
    expect(FEATURES).toEqual(wire.FEATURES);
  });

  it('name the same synthetic exit codes as the agents', () => {
    expect(EXIT_CODE).toEqual(wire.EXIT_CODE);
  });

  it('list the agent-config scope fields of the resolver', () => {
    expect(CONFIG_FIELDS).toEqual(wire.CONFIG_FIELDS);
  });

  it("offer the roster's attribute filter operators", () => {
    expect(META_OPS).toEqual(BACKEND_META_OPS);
  });
});
