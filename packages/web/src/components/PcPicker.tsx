// Picks PCs for a group: type to get suggestions from the roster, or paste
// many pc_ids (space, comma or newline separated) and press Add. Pasted ids
// are checked against the roster (GET /api/agents with an exact-match
// regex, in chunks that fit the 256-character regex limit) and ids the
// roster does not know are dropped and named, as upstream's PcPicker does,
// so a typo never becomes a phantom member.
import { useQuery } from '@tanstack/react-query';
import { type KeyboardEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { apiJson, qs } from '../lib/api.js';
import { escapeRegex, exactRegexes } from '../lib/regex.js';
import type { Agent } from '../lib/types.js';

/** Which of `ids` the roster knows. */
export async function knownPcs(ids: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (const re of exactRegexes(ids)) {
    const rows = await apiJson<Agent[]>(`/api/agents${qs({ q: re, limit: 500 })}`);
    for (const a of rows) known.add(a.pc_id);
  }
  return known;
}

export function PcPicker({
  value,
  onChange,
  id,
  disabled,
}: {
  value: string[];
  onChange(v: string[]): void;
  id: string;
  disabled?: boolean;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [prefix, setPrefix] = useState('');
  const [unknown, setUnknown] = useState<string[]>([]);
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    const id = setTimeout(() => setPrefix(text.trim()), 250);
    return () => clearTimeout(id);
  }, [text]);

  const single = prefix !== '' && !/[\s,]/.test(prefix);
  const suggestions = useQuery({
    queryKey: ['agents', 'suggest', prefix],
    queryFn: () => apiJson<Agent[]>(`/api/agents${qs({ q: `^${escapeRegex(prefix)}`, limit: 8 })}`),
    enabled: single,
    staleTime: 30_000,
  });

  const add = (ids: string[]) => onChange([...new Set([...value, ...ids])]);

  async function addTyped() {
    const ids = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
    if (ids.length === 0) return;
    setChecking(true);
    try {
      const known = await knownPcs(ids);
      add(ids.filter((x) => known.has(x)));
      setUnknown(ids.filter((x) => !known.has(x)));
      setText('');
    } finally {
      setChecking(false);
    }
  }

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void addTyped();
    }
  };

  const shown = single ? (suggestions.data ?? []).filter((a) => !value.includes(a.pc_id)) : [];
  return (
    <div className="space-y-2">
      <div className="flex gap-2">
        <div className="relative flex-1">
          <input
            id={id}
            className="input font-mono"
            value={text}
            disabled={disabled}
            placeholder={t('picker.placeholder')}
            autoComplete="off"
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKey}
          />
          {shown.length ? (
            <ul
              className="absolute z-20 mt-1 w-full rounded-lg border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
              data-testid="pc-suggestions"
            >
              {shown.map((a) => (
                <li key={a.pc_id}>
                  <button
                    type="button"
                    className="flex w-full justify-between gap-2 px-3 py-1 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
                    onClick={() => {
                      add([a.pc_id]);
                      setText('');
                    }}
                  >
                    <span className="font-mono">{a.pc_id}</span>
                    <span className="muted truncate text-xs">{a.hostname ?? ''}</span>
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <button
          type="button"
          className="btn"
          disabled={disabled || checking || !text.trim()}
          onClick={() => void addTyped()}
        >
          {checking ? t('common.working') : t('picker.add')}
        </button>
      </div>
      {unknown.length ? (
        <p className="text-xs text-amber-700 dark:text-amber-400" role="status">
          {t('picker.unknown', { ids: unknown.join(', ') })}
        </p>
      ) : null}
      {value.length ? (
        <div className="flex flex-wrap gap-1" data-testid="picked-pcs">
          {value.map((pc) => (
            <span
              key={pc}
              className="chip border-violet-300 bg-violet-50 font-mono text-violet-800 dark:border-violet-800 dark:bg-violet-950/60 dark:text-violet-200"
            >
              {pc}
              <button
                type="button"
                aria-label={t('picker.remove', { pc })}
                className="ml-0.5"
                onClick={() => onChange(value.filter((x) => x !== pc))}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}
