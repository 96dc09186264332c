// The footer of a paged list: "1–50 of 1,234", previous / next, and an
// optional page-size choice. When the API gives no total (inventory
// search), `total` is undefined and "next" stays enabled while pages come
// back full.
import { useTranslation } from 'react-i18next';
import { num } from '../lib/format.js';

export function Pager({
  page,
  limit,
  total,
  rows,
  onPage,
  sizes,
  onLimit,
  testId,
}: {
  /** 0-based. */
  page: number;
  limit: number;
  total: number | undefined;
  /** Rows on this page (decides "next" when there is no total). */
  rows: number;
  onPage(page: number): void;
  sizes?: number[];
  onLimit?(limit: number): void;
  testId?: string;
}) {
  const { t } = useTranslation();
  const first = rows === 0 ? 0 : page * limit + 1;
  const last = page * limit + rows;
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / limit));
  const hasNext = pages === undefined ? rows >= limit : page + 1 < pages;
  return (
    <div className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm">
      <span className="muted tabular-nums" data-testid={testId}>
        {total === undefined
          ? t('table.rangeOpen', { first: num(first), last: num(last) })
          : t('table.range', { first: num(first), last: num(last), total: num(total) })}
      </span>
      <div className="flex items-center gap-2">
        {sizes && onLimit ? (
          <select
            className="input w-auto"
            aria-label={t('table.pageSize')}
            value={limit}
            onChange={(e) => onLimit(Number(e.target.value))}
          >
            {sizes.map((n) => (
              <option key={n} value={n}>
                {t('table.perPage', { n })}
              </option>
            ))}
          </select>
        ) : null}
        <button type="button" className="btn" disabled={page === 0} onClick={() => onPage(page - 1)}>
          {t('table.prev')}
        </button>
        {pages !== undefined ? (
          <span className="tabular-nums">
            {num(page + 1)} / {num(pages)}
          </span>
        ) : (
          <span className="tabular-nums">{num(page + 1)}</span>
        )}
        <button type="button" className="btn" disabled={!hasNext} onClick={() => onPage(page + 1)}>
          {t('table.next')}
        </button>
      </div>
    </div>
  );
}
