// One confirmation dialog for every destructive or fleet-wide action
// (revoke, kill, delete, exec to all, run): `await confirm({...})` resolves
// true only when the operator presses the confirm button. `typeToConfirm`
// makes them type a word first, for actions that reach the whole fleet.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

export interface ConfirmOptions {
  title: string;
  body?: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  typeToConfirm?: string;
}

type ConfirmFn = (o: ConfirmOptions) => Promise<boolean>;
const ConfirmContext = createContext<ConfirmFn>(async () => false);

export function ConfirmProvider({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [pending, setPending] = useState<(ConfirmOptions & { resolve(ok: boolean): void }) | null>(null);
  const [typed, setTyped] = useState('');
  const confirmButton = useRef<HTMLButtonElement>(null);

  const confirm = useCallback<ConfirmFn>(
    (o) =>
      new Promise<boolean>((resolve) => {
        setTyped('');
        setPending({ ...o, resolve });
      }),
    [],
  );

  useEffect(() => {
    if (!pending) return;
    if (!pending.typeToConfirm) confirmButton.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  function close(ok: boolean) {
    pending?.resolve(ok);
    setPending(null);
  }

  const blocked = pending?.typeToConfirm !== undefined && typed !== pending.typeToConfirm;
  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      {pending ? (
        <div className="fixed inset-0 z-50 flex items-center justify-center p-4">
          <button
            type="button"
            aria-label={t('common.cancel')}
            className="absolute inset-0 bg-black/50"
            onClick={() => close(false)}
          />
          <div
            role="dialog"
            aria-modal="true"
            aria-labelledby="confirm-title"
            className="card relative w-full max-w-md"
          >
            <h2 id="confirm-title" className="mb-2 text-lg font-semibold">
              {pending.title}
            </h2>
            {pending.body ? <div className="mb-3 text-sm">{pending.body}</div> : null}
            {pending.typeToConfirm !== undefined ? (
              <label className="mb-3 block text-sm">
                {t('confirm.typeToConfirm', { word: pending.typeToConfirm })}
                <input
                  className="input mt-1"
                  value={typed}
                  onChange={(e) => setTyped(e.target.value)}
                  // biome-ignore lint/a11y/noAutofocus: the dialog asks for this word first
                  autoFocus
                />
              </label>
            ) : null}
            <div className="flex justify-end gap-2">
              <button type="button" className="btn" onClick={() => close(false)}>
                {t('common.cancel')}
              </button>
              <button
                ref={confirmButton}
                type="button"
                className={`btn ${pending.danger ? 'btn-danger' : 'btn-primary'}`}
                disabled={blocked}
                onClick={() => close(true)}
              >
                {pending.confirmLabel ?? t('common.confirm')}
              </button>
            </div>
          </div>
        </div>
      ) : null}
    </ConfirmContext.Provider>
  );
}

export function useConfirm(): ConfirmFn {
  return useContext(ConfirmContext);
}
