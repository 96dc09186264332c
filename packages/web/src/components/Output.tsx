// A block of command output with a copy button; empty output says so.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

export function Output({ label, text, truncated }: { label: string; text: string; truncated?: boolean }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <div className="mb-3">
      <div className="mb-1 flex items-center justify-between gap-2">
        <span className="text-xs font-semibold tracking-wide text-zinc-500 uppercase">{label}</span>
        {text ? (
          <button
            type="button"
            className="link text-xs"
            onClick={async () => {
              await navigator.clipboard.writeText(text);
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            }}
          >
            {copied ? t('common.copied') : t('common.copy')}
          </button>
        ) : null}
      </div>
      {text ? (
        <pre className="max-h-96 overflow-auto rounded-md bg-zinc-100 p-2 font-mono text-xs whitespace-pre-wrap break-all dark:bg-zinc-950">
          {text}
          {truncated ? <span className="muted">{`\n${t('activity.truncated')}`}</span> : null}
        </pre>
      ) : (
        <p className="muted text-xs">{t('activity.noOutput')}</p>
      )}
    </div>
  );
}
