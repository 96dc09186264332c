// The effective configuration of one PC as the backend resolves it
// (built-in -> global -> groups alphabetically, last wins -> the PC's own
// scope): its groups, a warning for each field two of its groups set (the
// alphabetically last of them wins unless the PC scope sets it), and every
// field's value. Used by the Config page and the agent detail page.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { configValueText } from '../lib/config-form.js';
import type { EffectiveView } from '../lib/types.js';
import { CONFIG_FIELDS } from '../lib/wire-constants.js';
import { Chip } from './ui.js';

export function Conflicts({ view }: { view: EffectiveView }) {
  const { t } = useTranslation();
  return (
    <div
      role="alert"
      data-testid="config-conflicts"
      className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100"
    >
      <strong>{t('config.conflicts')}</strong>
      <ul className="mt-1 list-disc pl-5 text-xs">
        {view.warnings.map((w) => (
          <li key={w.field}>
            {t('config.conflict', {
              field: w.field,
              groups: w.groups.join(', '),
              winner: w.groups.at(-1),
            })}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function EffectiveTable({ view }: { view: EffectiveView }) {
  const { t } = useTranslation();
  return (
    <div className="space-y-3">
      <p className="text-xs">
        {t('config.groupsOfPc')}:{' '}
        {view.my_groups.length
          ? view.my_groups.map((g) => (
              <Link key={g} to={`/config?scope=group&name=${encodeURIComponent(g)}`} className="mr-1">
                <Chip>{g}</Chip>
              </Link>
            ))
          : t('config.noGroups')}
      </p>
      {view.warnings.length ? <Conflicts view={view} /> : null}
      <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]" data-testid="effective-config">
        {CONFIG_FIELDS.map((f) => (
          <div key={f} className="contents">
            <dt className="font-mono text-xs">{f}</dt>
            <dd className="font-mono text-xs" data-field={f}>
              {configValueText(view.effective[f], t('config.none'))}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
