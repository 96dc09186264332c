import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultStateDir, parseAgentArgs } from '../src/index.js';

describe('kanade-agent arguments', () => {
  it('keeps its state per pc_id under the home directory unless told otherwise', () => {
    expect(parseAgentArgs([]).stateDir).toBeUndefined();
    expect(defaultStateDir('pc-1')).toMatch(new RegExp(`${join('.kanade-agent', 'pc-1')}$`));
    expect(parseAgentArgs([], { KANADE_AGENT_STATE_DIR: '/var/lib/kanade' }).stateDir).toBe(
      '/var/lib/kanade',
    );
    expect(parseAgentArgs(['--state-dir', '/srv/a'], { KANADE_AGENT_STATE_DIR: '/x' }).stateDir).toBe(
      '/srv/a',
    );
  });
});
