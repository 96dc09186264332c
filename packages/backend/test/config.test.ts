import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'kanade-cfg-'));
const toml = (text: string) => {
  const p = join(dir, `c${Math.random()}.toml`);
  writeFileSync(p, text);
  return p;
};

describe('loadConfig', () => {
  it('is self-contained with no configuration', () => {
    const c = loadConfig({}, [], '/srv/k');
    expect(c.bind).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.natsUrl).toBeUndefined();
    expect(c.embeddedNats).toEqual({
      host: '127.0.0.1',
      port: 4222,
      storeDir: '/srv/k/data/nats',
      token: undefined,
      requireToken: false,
    });
    expect(c.dataDir).toBe('/srv/k/data');
    expect(c.sqlitePath).toBe('/srv/k/data/kanade.db');
    expect(c.localAgent).toBe(true);
    expect(c.auth).toEqual({ disabled: false, staticToken: undefined });
  });

  it('never opens the embedded broker beyond loopback without a token', () => {
    const lan = loadConfig({ KANADE_EMBEDDED_NATS_HOST: '0.0.0.0' }, [], '/srv/k').embeddedNats;
    expect(lan).toMatchObject({ host: '0.0.0.0', token: undefined, requireToken: true });
    expect(
      loadConfig({ KANADE_EMBEDDED_NATS_HOST: '10.0.0.5' }, [], '/srv/k').embeddedNats.requireToken,
    ).toBe(true);
    for (const host of ['127.0.0.2', 'localhost', '::1']) {
      expect(loadConfig({ KANADE_EMBEDDED_NATS_HOST: host }, [], '/srv/k').embeddedNats.requireToken).toBe(
        false,
      );
    }
    const token = 'a-token-of-the-operator-1';
    expect(loadConfig({ KANADE_EMBEDDED_NATS_TOKEN: token }, [], '/srv/k').embeddedNats).toMatchObject({
      host: '127.0.0.1',
      token,
      requireToken: false,
    });
    expect(() => loadConfig({ KANADE_EMBEDDED_NATS_HOST: '0.0.0.0"; x' }, [], '/srv/k')).toThrow(
      /KANADE_EMBEDDED_NATS_HOST/,
    );
    expect(() => loadConfig({ KANADE_EMBEDDED_NATS_TOKEN: 'short' }, [], '/srv/k')).toThrow(
      /KANADE_EMBEDDED_NATS_TOKEN/,
    );
    expect(() => loadConfig({ KANADE_EMBEDDED_NATS_TOKEN: `${'x'.repeat(20)}"}` }, [], '/srv/k')).toThrow(
      /KANADE_EMBEDDED_NATS_TOKEN/,
    );
  });

  it("reads upstream's TOML sections", () => {
    const file = toml(
      `[server]\nbind = "0.0.0.0:9000"\n[nats]\nurl = "nats://n:4222"\n[db]\nsqlite_path = "/var/k.db"\n[log]\nlevel = "debug"\npath = "/var/log/k"\n`,
    );
    const c = loadConfig({ KANADE_BACKEND_CONFIG: file }, [], '/srv');
    expect(c.bind).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(c.natsUrl).toBe('nats://n:4222');
    expect(c.sqlitePath).toBe('/var/k.db');
    expect(c.logLevel).toBe('debug');
    expect(c.localAgent).toBe(false);
  });

  it('lets the environment win over the file', () => {
    const file = toml(`[server]\nbind = "0.0.0.0:9000"\n[db]\nsqlite_path = "/var/k.db"\n`);
    const c = loadConfig(
      {
        KANADE_BACKEND_CONFIG: file,
        KANADE_BIND: '127.0.0.1:7000',
        KANADE_SQLITE_PATH: 'rel.db',
        KANADE_DATA_DIR: '/d',
        KANADE_NATS_URL: 'nats://x:1',
        KANADE_LOCAL_AGENT: '1',
      },
      [],
      '/srv',
    );
    expect(c.bind.port).toBe(7000);
    expect(c.sqlitePath).toBe('/srv/rel.db');
    expect(c.dataDir).toBe('/d');
    expect(c.natsUrl).toBe('nats://x:1');
    expect(c.localAgent).toBe(true);
  });

  it('honours --config over KANADE_BACKEND_CONFIG and KANADE_LOCAL_AGENT=0', () => {
    const file = toml(`[server]\nbind = "127.0.0.1:9100"\n`);
    const c = loadConfig({ KANADE_BACKEND_CONFIG: '/nope.toml', KANADE_LOCAL_AGENT: '0' }, [
      '--config',
      file,
    ]);
    expect(c.bind.port).toBe(9100);
    expect(c.localAgent).toBe(false);
  });

  it('treats any KANADE_AUTH_DISABLE value but 0/false as disabled', () => {
    expect(loadConfig({ KANADE_AUTH_DISABLE: '' }).auth.disabled).toBe(true);
    expect(loadConfig({ KANADE_AUTH_DISABLE: '1' }).auth.disabled).toBe(true);
    expect(loadConfig({ KANADE_AUTH_DISABLE: '0' }).auth.disabled).toBe(false);
  });

  it.each([
    [{ KANADE_BIND: 'localhost' }, /KANADE_BIND/],
    [{ KANADE_BIND: '1.2.3.4:99999' }, /host:port/],
    [{ KANADE_LOG_LEVEL: 'loud' }, /log level/],
    [{ KANADE_BACKEND_CONFIG: '/does/not/exist.toml' }, /cannot read/],
  ])('rejects %o with a clear message', (env, msg) => {
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(msg);
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(ConfigError);
  });

  it('rejects a file that is not TOML', () => {
    expect(() => loadConfig({ KANADE_BACKEND_CONFIG: toml('[server\nbind=') })).toThrow(/not valid TOML/);
  });
});
