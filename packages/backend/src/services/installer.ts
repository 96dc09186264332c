// Agent installers (upstream's GET /api/agents/installer[.sh]): a .tar.gz
// that sets up this project's agent as a systemd service on a Linux PC, and a
// one-liner script that downloads and runs it.
//
// - What is installed: the `node` build of the version the global config
//   scope targets, when published (a new PC would update to it at once
//   anyway); else the newest published `node` release; else the release
//   bundle `npm run build` writes next to the agent package
//   (packages/agent/dist/kanade-agent.mjs), so a fresh installation can add
//   PCs before anyone publishes a release.
// - Which broker: `agent_install.nats_url` from the server settings, else
//   the embedded broker when it listens beyond loopback (on every interface:
//   at the host name the caller reached this backend by), else this
//   backend's own broker URL without its credentials (the backend's
//   credentials are not the agents'). A loopback URL is reported as such:
//   only an agent on this machine could use it.
// - Which token: `agent_install.nats_token`, else the embedded broker's.
// - The broker token (`agent_install.nats_token`) goes into the archive's
//   agent.env (installed with mode 600). The archive is as sensitive as the
//   token: whoever may open the Add agents page may download it (as upstream,
//   so an account restricted to that page can kit new PCs).
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_KEY, decodeScope, KV, parseReleaseKey } from '@kanade/wire';
import { isLoopbackHost } from '../config.js';
import { notFound } from '../http/errors.js';
import type { KvAccess } from './kv.js';
import type { ReleaseService } from './releases.js';
import type { AgentInstallSettings, ServerSettingsService } from './server-settings.js';
import { type TarFile, tarGz } from './tar.js';

export const INSTALLER_OS = ['linux'] as const;
export const INSTALLER_ARCH = ['x86_64', 'aarch64'] as const;
export type InstallerArch = (typeof INSTALLER_ARCH)[number];

/** The directory every file of the archive sits in. */
const TOP = 'kanade-agent';

export interface InstallerRelease {
  version: string;
  source: 'agent_releases' | 'bundled';
}

export interface InstallerInfo {
  platforms: { os: string; arch: string[] }[];
  nats_url: string;
  nats_url_source: 'settings' | 'backend';
  loopback: boolean;
  nats_token_set: boolean;
  release: InstallerRelease | null;
}

/** The backend's broker URL(s) as agents may be given them: user info removed from each. */
export function withoutCredentials(url: string): string {
  return url
    .split(',')
    .map((u) => u.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1'))
    .join(',');
}

/** True when every URL of the list names a loopback host (127.x, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  return url.split(',').every((u) => {
    const host = /^[a-z]+:\/\/(\[[^\]]*\]|[^:/]*)/i.exec(u.trim())?.[1]?.toLowerCase() ?? '';
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  });
}

/** A word for sh: single-quoted, with each ' closed, escaped and reopened. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface BrokerChoice {
  url: string;
  source: 'settings' | 'backend';
  token?: string | undefined;
}

/**
 * The broker URL and token installers bake in (see the top of this file). `requestHost`: the host name
 * the caller reached this backend by, for an embedded broker listening on every interface.
 */
export function pickBroker(
  settings: AgentInstallSettings,
  embedded: { host: string; port: number; token: string | undefined } | undefined,
  natsUrl: string | undefined,
  requestHost: string | undefined,
): BrokerChoice {
  const token = settings.nats_token ?? embedded?.token;
  if (settings.nats_url) return { url: settings.nats_url, source: 'settings', token };
  if (embedded && !isLoopbackHost(embedded.host)) {
    const wildcard = ['0.0.0.0', '::', '[::]'].includes(embedded.host);
    const host = wildcard ? (requestHost ?? '127.0.0.1') : embedded.host;
    const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return { url: `nats://${bracketed}:${embedded.port}`, source: 'backend', token };
  }
  return { url: withoutCredentials(natsUrl ?? 'nats://127.0.0.1:4222'), source: 'backend', token };
}

/** The bundle `npm run build` writes (scripts/build.mjs), found through the workspace link. */
function bundledAgentPath(): string | undefined {
  try {
    // @kanade/agent resolves to its dist/index.js, built by the same `npm run build`.
    return join(dirname(fileURLToPath(import.meta.resolve('@kanade/agent'))), 'kanade-agent.mjs');
  } catch {
    return undefined;
  }
}

function agentEnv(natsUrl: string, token: string | undefined): string {
  return [
    '# kanade agent settings (read by the kanade-agent systemd service).',
    '# Generated by the kanade backend; install.sh rewrites it on every run, keeping a',
    '# copy of a changed file as agent.env.bak.',
    `KANADE_NATS_URL=${natsUrl}`,
    ...(token ? [`KANADE_NATS_TOKEN=${token}`] : []),
    'KANADE_AGENT_STATE_DIR=/var/lib/kanade-agent',
    '',
  ].join('\n');
}

const SERVICE_UNIT = `[Unit]
Description=kanade agent (endpoint management)
Documentation=https://github.com/kanadehq/kanade
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
EnvironmentFile=/etc/kanade-agent/agent.env
ExecStart=@NODE@ /opt/kanade-agent/kanade-agent.mjs
# The agent retries the broker for ever; a crash restarts it.
Restart=always
RestartSec=5
# Outbox, run history and downloaded releases (self-update) live here.
StateDirectory=kanade-agent
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
`;

/** install.sh: what the archive runs (as root) on the PC. POSIX sh. */
export const INSTALL_SH = `#!/bin/sh
# Installs the kanade agent as the systemd service kanade-agent:
#   /opt/kanade-agent/kanade-agent.mjs   the agent (needs Node.js 20 or newer)
#   /etc/kanade-agent/agent.env          broker URL and token (mode 600)
#   /var/lib/kanade-agent                outbox, run history, self-update releases
#
#   sudo sh install.sh               install or upgrade, then (re)start the service
#   sudo sh install.sh --uninstall   stop and remove the service and the program
#                                    (agent.env and the state directory stay)
#   sh install.sh --root DIR         lay the files out under DIR, start nothing
#
# KANADE_NATS_URL / KANADE_NATS_TOKEN in the environment override the values
# this installer was generated with.
set -eu

ROOT=
START=1
ACTION=install
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { echo "install.sh: --root needs a directory" >&2; exit 2; }
            ROOT=$2; START=0; shift 2 ;;
    --no-start) START=0; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
PROGRAM_DIR=$ROOT/opt/kanade-agent
CONFIG_DIR=$ROOT/etc/kanade-agent
STATE_DIR=$ROOT/var/lib/kanade-agent
UNIT=$ROOT/etc/systemd/system/kanade-agent.service
has_systemd() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run it as root (sudo sh install.sh), or with --root DIR" >&2
  exit 1
fi

if [ "$ACTION" = uninstall ]; then
  if has_systemd; then systemctl disable --now kanade-agent >/dev/null 2>&1 || true; fi
  rm -f "$UNIT"
  rm -rf "$PROGRAM_DIR"
  if has_systemd; then systemctl daemon-reload; fi
  echo "kanade agent removed; $CONFIG_DIR and $STATE_DIR are kept (remove them by hand if wanted)"
  exit 0
fi

NODE=$(command -v node 2>/dev/null || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "install.sh: the kanade agent needs Node.js 20 or newer as 'node' on PATH (e.g. apt-get install nodejs)" >&2
  exit 1
fi

umask 022
mkdir -p "$PROGRAM_DIR" "$CONFIG_DIR" "$STATE_DIR" "$(dirname "$UNIT")"
chmod 700 "$STATE_DIR"
cp "$HERE/kanade-agent.mjs" "$PROGRAM_DIR/kanade-agent.mjs.new"
mv "$PROGRAM_DIR/kanade-agent.mjs.new" "$PROGRAM_DIR/kanade-agent.mjs"

ENV_NEW=$CONFIG_DIR/agent.env.new
( umask 077
  if [ -n "\${KANADE_NATS_URL:-}" ] || [ -n "\${KANADE_NATS_TOKEN:-}" ]; then
    while IFS= read -r line; do
      case "$line" in
        KANADE_NATS_URL=*) [ -n "\${KANADE_NATS_URL:-}" ] || printf '%s\\n' "$line" ;;
        KANADE_NATS_TOKEN=*) [ -n "\${KANADE_NATS_TOKEN:-}" ] || printf '%s\\n' "$line" ;;
        *) printf '%s\\n' "$line" ;;
      esac
    done < "$HERE/agent.env"
    [ -z "\${KANADE_NATS_URL:-}" ] || printf 'KANADE_NATS_URL=%s\\n' "$KANADE_NATS_URL"
    [ -z "\${KANADE_NATS_TOKEN:-}" ] || printf 'KANADE_NATS_TOKEN=%s\\n' "$KANADE_NATS_TOKEN"
  else
    cat "$HERE/agent.env"
  fi > "$ENV_NEW" )
if [ -f "$CONFIG_DIR/agent.env" ] && ! cmp -s "$ENV_NEW" "$CONFIG_DIR/agent.env"; then
  cp -p "$CONFIG_DIR/agent.env" "$CONFIG_DIR/agent.env.bak"
fi
mv "$ENV_NEW" "$CONFIG_DIR/agent.env"
if [ -n "$ROOT" ]; then
  sed -i "s|^KANADE_AGENT_STATE_DIR=.*|KANADE_AGENT_STATE_DIR=$STATE_DIR|" "$CONFIG_DIR/agent.env"
fi

sed "s|@NODE@|$NODE|" "$HERE/kanade-agent.service" > "$UNIT"
chmod 644 "$UNIT"

if [ "$START" = 1 ] && has_systemd; then
  systemctl daemon-reload
  systemctl enable kanade-agent >/dev/null 2>&1
  systemctl restart kanade-agent
  echo "kanade agent $(cat "$HERE/VERSION") installed and started (systemctl status kanade-agent)"
elif [ "$START" = 1 ]; then
  echo "kanade agent installed; no systemd here: run it with"
  echo "  set -a; . $CONFIG_DIR/agent.env; set +a; $NODE $PROGRAM_DIR/kanade-agent.mjs"
else
  echo "kanade agent laid out under \${ROOT:-/}; not started"
fi
`;

function readme(version: string, natsUrl: string, loopback: boolean): string {
  return [
    `kanade agent ${version} for Linux (systemd), Node.js 20 or newer`,
    '',
    'Install or upgrade (as root):',
    '  tar -xzf kanade-agent-installer-*.tar.gz && sudo sh kanade-agent/install.sh',
    '',
    `The agent connects to ${natsUrl} (kanade-agent/agent.env).`,
    ...(loopback
      ? [
          'That address is the backend machine itself: agents on other PCs cannot reach it.',
          'Set "Broker URL for agents" in the dashboard (Settings), or run',
          '  sudo KANADE_NATS_URL=nats://broker.example:4222 sh kanade-agent/install.sh',
        ]
      : []),
    '',
    'agent.env may hold the broker token: keep this archive where you keep passwords.',
    'Remove: sudo sh kanade-agent/install.sh --uninstall',
    '',
  ].join('\n');
}

export function createInstallerService(deps: {
  releases: ReleaseService;
  settings: ServerSettingsService;
  kv: KvAccess;
  /** The broker this backend uses (credentials are removed before an agent sees it). */
  natsUrl: string | undefined;
  /** The embedded broker, when this backend runs one: where it listens and its token. */
  embedded?: { host: string; port: number; token: string | undefined } | undefined;
  /** Test seam: where the build's bundled agent is. */
  bundledPath?: string | undefined;
}) {
  const bundled = deps.bundledPath ?? bundledAgentPath();

  /** The version the global scope targets, if any. */
  async function globalTarget(): Promise<string | undefined> {
    try {
      const entry = await (await deps.kv.bucket(KV.AGENT_CONFIG)).get(CONFIG_KEY.global);
      return entry?.operation === 'PUT' ? (decodeScope(entry.value).target_version ?? undefined) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The release to ship: see the top of this file. */
  async function pickRelease(): Promise<(InstallerRelease & { key?: string }) | null> {
    const node = deps.releases.list().filter((r) => parseReleaseKey(r.key).platform === 'node');
    const target = await globalTarget();
    const chosen = node.find((r) => r.version === target) ?? node[0];
    if (chosen) return { version: chosen.version, source: 'agent_releases', key: chosen.key };
    if (bundled && (await stat(bundled).catch(() => undefined))?.isFile()) {
      return { version: await bundledVersion(bundled), source: 'bundled' };
    }
    return null;
  }

  async function broker(requestHost: string | undefined): Promise<BrokerChoice> {
    return pickBroker(await deps.settings.agentInstall(), deps.embedded, deps.natsUrl, requestHost);
  }

  async function agentBytes(r: InstallerRelease & { key?: string }): Promise<Uint8Array> {
    if (r.source === 'bundled') return readFile(bundled!);
    const info = await deps.releases.open(r.version, 'node');
    const chunks: Buffer[] = [];
    for await (const c of deps.releases.read(info)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  return {
    async info(requestHost?: string): Promise<InstallerInfo> {
      const [b, release] = await Promise.all([broker(requestHost), pickRelease()]);
      return {
        platforms: INSTALLER_OS.map((os) => ({ os, arch: [...INSTALLER_ARCH] })),
        nats_url: b.url,
        nats_url_source: b.source,
        loopback: isLoopbackUrl(b.url),
        nats_token_set: b.token !== undefined,
        release: release ? { version: release.version, source: release.source } : null,
      };
    },

    /** The archive for Linux (the TypeScript agent runs on Node.js on either architecture). */
    async archive(requestHost?: string): Promise<{ filename: string; version: string; body: Buffer }> {
      const release = await pickRelease();
      if (!release) {
        throw notFound(
          'no agent release to install: publish one (kanade agent publish <file> --version <v>) or run npm run build',
        );
      }
      const b = await broker(requestHost);
      const files: TarFile[] = [
        { path: `${TOP}/install.sh`, mode: 0o755, data: INSTALL_SH },
        { path: `${TOP}/kanade-agent.mjs`, mode: 0o644, data: await agentBytes(release) },
        { path: `${TOP}/agent.env`, mode: 0o600, data: agentEnv(b.url, b.token) },
        { path: `${TOP}/kanade-agent.service`, mode: 0o644, data: SERVICE_UNIT },
        { path: `${TOP}/VERSION`, mode: 0o644, data: `${release.version}\n` },
        {
          path: `${TOP}/README.txt`,
          mode: 0o644,
          data: readme(release.version, b.url, isLoopbackUrl(b.url)),
        },
      ];
      return {
        filename: `kanade-agent-installer-${release.version}-linux.tar.gz`,
        version: release.version,
        body: await tarGz(files),
      };
    },

    /** The one-liner's script: downloads `archiveUrl` with `token` and runs its install.sh. */
    script(archiveUrl: string, token: string): string {
      return `#!/bin/sh
# kanade agent installer download: fetches the installer archive from the
# kanade backend (with the token of the account that asked for this script)
# and runs its install.sh with the arguments given to this script, e.g.
#   curl -fsSL -H "Authorization: Bearer <token>" <this URL> | sudo sh
#   ... | sh -s -- --root /tmp/kanade-agent-test
set -eu
URL=${shQuote(archiveUrl)}
TOKEN=${shQuote(token)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
if command -v curl >/dev/null 2>&1; then
  curl -fsSL -H "Authorization: Bearer $TOKEN" -o "$TMP/installer.tar.gz" "$URL"
elif command -v wget >/dev/null 2>&1; then
  wget -q --header="Authorization: Bearer $TOKEN" -O "$TMP/installer.tar.gz" "$URL"
else
  echo "kanade installer: curl or wget is needed" >&2
  exit 1
fi
tar -xzf "$TMP/installer.tar.gz" -C "$TMP"
sh "$TMP/${TOP}/install.sh" "$@"
`;
    },
  };
}
export type InstallerService = ReturnType<typeof createInstallerService>;

/** The version a bundle reports: the agent package's, read beside it. */
async function bundledVersion(path: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(dirname(path), '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
