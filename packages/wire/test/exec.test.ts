import { describe, expect, it } from 'vitest';
import {
  AgentGroups,
  COMMAND_PROTOCOL,
  EXIT_CODE,
  resultOutputKey,
  SCRIPT_STATUS,
  STDOUT_INLINE_THRESHOLD,
} from '../src/index.js';

describe('execution constants shared with upstream', () => {
  it('pins the literals agents and the backend agree on', () => {
    expect(STDOUT_INLINE_THRESHOLD).toBe(262_144);
    expect(SCRIPT_STATUS).toEqual({ ACTIVE: 'ACTIVE', REVOKED: 'REVOKED' });
    expect(EXIT_CODE).toEqual({
      UNSUPPORTED_OS: 122,
      SIGNATURE_REFUSED: 123,
      VERSION_MISMATCH: 124,
      DEADLINE_PASSED: 125,
      REVOKED: 126,
      STALE: 127,
      ABORTED: -1,
    });
    expect(COMMAND_PROTOCOL).toEqual({ LEGACY: 'legacy', V2: 'kanade.command.v2' });
    expect(resultOutputKey('req-1', 'pc-1', 'stdout')).toBe('req-1/pc-1/stdout');
  });

  it('reads agent_groups values tolerantly', () => {
    expect(AgentGroups.parse({ groups: ['a'], extra: true })).toEqual({ groups: ['a'] });
    expect(AgentGroups.parse({})).toEqual({ groups: [] });
    expect(AgentGroups.safeParse({ groups: 'a' }).success).toBe(false);
  });
});
