// Add agents: download an installer preconfigured for this backend (the
// agent build, its broker URL and token in agent.env, install.sh for a
// systemd service), or copy a one-liner that fetches and runs it. The page
// says what would be installed and warns when that cannot work elsewhere: a
// loopback broker URL only reaches agents on the backend's own machine, and
// without a release or bundled build there is nothing to hand out. The
// one-liner carries the operator's token, so it is masked on screen, copied
// in full, and comes with a warning.
import { useMutation, useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Card, Chip, ErrorCard, Loading, PageHeader, Segmented } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { copyText } from '../lib/clipboard.js';
import { downloadFile } from '../lib/download.js';
import { INSTALLER_INFO, installerUrl, oneLiner } from '../lib/installer.js';
import type { InstallerInfo } from '../lib/types.js';

const OS_NAMES: Record<string, string> = { linux: 'Linux', windows: 'Windows', macos: 'macOS' };

/** What install.sh sets up on the target machine, as the backend's installer builds it. */
const STEPS = [
  ['files', '/opt/kanade-agent'],
  ['config', '/etc/kanade-agent/agent.env'],
  ['service', 'kanade-agent'],
  ['state', '/var/lib/kanade-agent'],
  ['uninstall', 'sudo sh install.sh --uninstall'],
] as const;

const WARN_BOX =
  'rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100';

function Code({ children }: { children: ReactNode }) {
  return (
    <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-xs dark:bg-zinc-800">{children}</code>
  );
}

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid gap-1 py-1.5 sm:grid-cols-[12rem_1fr]">
      <dt className="muted text-sm">{label}</dt>
      <dd className="flex flex-wrap items-center gap-2 text-sm">{children}</dd>
    </div>
  );
}

function Warnings({ info }: { info: InstallerInfo }) {
  const { t } = useTranslation();
  return (
    <>
      {info.loopback ? (
        <div role="alert" data-testid="loopback-warning" className={WARN_BOX}>
          <strong>{t('agentInstall.loopbackTitle')}</strong>
          <p className="mt-1">{t('agentInstall.loopback', { url: info.nats_url })}</p>
          <Link to="/settings" className="link mt-1 inline-block font-medium">
            {t('agentInstall.openSettings')}
          </Link>
        </div>
      ) : null}
      {info.release === null ? (
        <div role="alert" data-testid="no-release" className={WARN_BOX}>
          <strong>{t('agentInstall.noReleaseTitle')}</strong>
          <p className="mt-1">{t('agentInstall.noRelease')}</p>
          <ul className="mt-1 list-disc space-y-1 pl-5">
            <li>
              <Code>{'kanade agent publish <file> --version <v>'}</Code>
            </li>
            <li>
              <Code>npm run build</Code>
            </li>
          </ul>
        </div>
      ) : null}
    </>
  );
}

function OneLiner({ os, arch, disabled }: { os: string; arch: string; disabled: boolean }) {
  const { t } = useTranslation();
  const { token, session } = useAuth();
  const [copied, setCopied] = useState<boolean | null>(null);
  const origin = window.location.origin;
  const shown = oneLiner({ origin, os, arch, token, masked: true });
  const copy = async () => {
    const ok = await copyText(oneLiner({ origin, os, arch, token, masked: false }));
    setCopied(ok);
    setTimeout(() => setCopied(null), 2000);
  };
  return (
    <div className="space-y-2">
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">{t('agentInstall.oneLiner')}</h3>
        <button type="button" className="btn" onClick={copy} disabled={disabled || !token}>
          {copied === true
            ? t('common.copied')
            : copied === false
              ? t('agentInstall.copyFailed')
              : t('common.copy')}
        </button>
      </div>
      <pre
        data-testid="one-liner"
        className="overflow-x-auto rounded-md bg-zinc-100 p-2 font-mono text-xs whitespace-pre-wrap break-all dark:bg-zinc-950"
      >
        {shown}
      </pre>
      <p className="muted text-xs">{t('agentInstall.oneLinerHelp')}</p>
      {token ? (
        <div role="note" data-testid="token-warning" className={WARN_BOX}>
          {session?.kind === 'token' ? t('agentInstall.apiTokenWarning') : t('agentInstall.sessionWarning')}
        </div>
      ) : (
        <p className="muted text-xs">{t('agentInstall.noToken')}</p>
      )}
    </div>
  );
}

function Installer({ info }: { info: InstallerInfo }) {
  const { t } = useTranslation();
  const [osChoice, setOs] = useState<string | null>(null);
  const [archChoice, setArch] = useState<string | null>(null);
  const platform = info.platforms.find((p) => p.os === osChoice) ?? info.platforms[0];
  const os = platform?.os ?? 'linux';
  const arch = archChoice && platform?.arch.includes(archChoice) ? archChoice : (platform?.arch[0] ?? '');
  const unavailable = info.release === null || !platform || !arch;
  const download = useMutation({
    mutationFn: () =>
      downloadFile(
        installerUrl(os, arch),
        `kanade-agent-${info.release?.version ?? 'latest'}-${os}-${arch}.tar.gz`,
      ),
  });

  return (
    <>
      <Card title={t('agentInstall.target')}>
        <div className="space-y-4">
          <div>
            <div className="label">{t('agentInstall.os')}</div>
            <Segmented
              label={t('agentInstall.os')}
              value={os}
              onChange={(v) => {
                setOs(v);
                download.reset();
              }}
              options={info.platforms.map((p) => ({ value: p.os, label: OS_NAMES[p.os] ?? p.os }))}
            />
            <p className="muted mt-1 text-xs">{t('agentInstall.otherOs')}</p>
          </div>
          <div>
            <div className="label">{t('agentInstall.arch')}</div>
            <Segmented
              label={t('agentInstall.arch')}
              value={arch}
              onChange={(v) => {
                setArch(v);
                download.reset();
              }}
              options={(platform?.arch ?? []).map((a) => ({ value: a, label: a }))}
            />
            <p className="muted mt-1 text-xs">{t('agentInstall.nodeNeeded')}</p>
          </div>
        </div>
      </Card>

      <Card title={t('agentInstall.contents')} testId="installer-contents">
        <dl className="divide-y divide-zinc-100 dark:divide-zinc-800">
          <Row label={t('agentInstall.version')}>
            {info.release ? (
              <>
                <span className="font-mono" data-testid="installer-version">
                  {info.release.version}
                </span>
                <Chip tone={info.release.source === 'agent_releases' ? 'info' : 'neutral'}>
                  {t(`agentInstall.source.${info.release.source}`)}
                </Chip>
              </>
            ) : (
              <Chip tone="bad">{t('agentInstall.noReleaseTitle')}</Chip>
            )}
          </Row>
          <Row label={t('agentInstall.brokerUrl')}>
            <span className="font-mono break-all" data-testid="installer-broker">
              {info.nats_url}
            </span>
            <Chip tone={info.loopback ? 'warn' : 'neutral'}>
              {t(`agentInstall.brokerSource.${info.nats_url_source}`)}
            </Chip>
          </Row>
          <Row label={t('agentInstall.brokerToken')}>
            <span data-testid="installer-token">
              {info.nats_token_set ? t('agentInstall.tokenSet') : t('agentInstall.tokenUnset')}
            </span>
          </Row>
        </dl>
      </Card>

      <Card title={t('agentInstall.installer')}>
        <div className="space-y-4">
          <div className="space-y-2">
            <div className="flex flex-wrap items-center gap-3">
              <button
                type="button"
                className="btn btn-primary"
                disabled={unavailable || download.isPending}
                onClick={() => download.mutate()}
              >
                {download.isPending ? t('agentInstall.downloading') : t('agentInstall.download')}
              </button>
              {download.isSuccess ? (
                <span className="text-sm text-emerald-700 dark:text-emerald-400">
                  {t('agentInstall.downloaded', { name: download.data })}
                </span>
              ) : null}
            </div>
            <p className="muted text-xs">{t('agentInstall.downloadHelp')}</p>
            {download.isError ? (
              <ErrorCard error={download.error} what={t('agentInstall.downloadFailed')} />
            ) : null}
          </div>
          <OneLiner os={os} arch={arch} disabled={unavailable} />
        </div>
      </Card>

      <Card title={t('agentInstall.steps.title')} testId="installer-steps">
        <p className="mb-2 text-sm">{t('agentInstall.steps.intro')}</p>
        <dl className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {STEPS.map(([key, code]) => (
            <Row key={key} label={t(`agentInstall.steps.${key}`)}>
              <Code>{code}</Code>
            </Row>
          ))}
        </dl>
      </Card>
    </>
  );
}

export default function AgentInstall() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['agent-installer', 'info'],
    queryFn: () => apiJson<InstallerInfo>(INSTALLER_INFO),
  });
  return (
    <div className="space-y-4" data-testid="agent-install-page">
      <PageHeader title={t('agentInstall.title')} />
      <p className="muted -mt-2 text-sm">{t('agentInstall.intro')}</p>
      {q.isError ? <ErrorCard error={q.error} /> : null}
      {!q.data && q.isPending ? <Loading /> : null}
      {q.data ? (
        <>
          <Warnings info={q.data} />
          <Installer info={q.data} />
        </>
      ) : null}
    </div>
  );
}
