// The card that edits one stored YAML document (a job manifest, a schedule,
// a group definition): it loads the document's YAML source (or starts a new
// one from a template), shows it in the YamlEditor, checked against the
// backend's JSON Schema when there is one, lists the editor's problems,
// saves by POSTing the YAML to the collection and shows why a save failed.
// After a successful save it refreshes the page's queries and closes.
// Viewers get the same card read-only, without the Save button.
import { type QueryKey, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { apiFetch, apiJson } from '../lib/api.js';
import type { Schema } from '../lib/json-schema.js';
import { Card, ErrorCard, Loading } from './ui.js';
import { type EditorProblem, YamlEditor } from './YamlEditor.js';

export function YamlDocumentEditor({
  id,
  readOnly,
  onClose,
  endpoint,
  sourceKey,
  invalidate,
  schema,
  template,
  newTitle,
  testId,
}: {
  /** The stored document, or null for a new one started from `template`. */
  id: string | null;
  readOnly: boolean;
  onClose(): void;
  /** The collection: the YAML is read from `${endpoint}/<id>/yaml` and saved by POST to `endpoint`. */
  endpoint: string;
  /** Query key prefix of the document's YAML source; the id is appended. */
  sourceKey: QueryKey;
  /** Invalidated after a successful save, before the card closes. */
  invalidate: QueryKey;
  /** Name of the JSON Schema the editor checks against (/api/schemas/<name>.json); none when left out. */
  schema?: string;
  template: string;
  /** Card title for a new document. */
  newTitle: string;
  testId: string;
}) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const schemaQuery = useQuery({
    queryKey: ['schemas', schema],
    queryFn: () => apiJson<Schema>(`/api/schemas/${schema}.json`),
    enabled: schema !== undefined,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const source = useQuery({
    queryKey: [...sourceKey, id],
    queryFn: async () => (await apiFetch(`${endpoint}/${encodeURIComponent(id!)}/yaml`)).text(),
    enabled: id !== null,
    // Always the stored text: an editor opened on a cached copy would save over a newer version.
    staleTime: 0,
  });
  const [text, setText] = useState<string | null>(null);
  const [problems, setProblems] = useState<EditorProblem[]>([]);
  const value = text ?? (id === null ? template : (source.data ?? ''));
  const save = useMutation({
    mutationFn: () =>
      apiJson(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: value,
      }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: invalidate });
      onClose();
    },
  });
  const onProblems = useCallback((p: EditorProblem[]) => setProblems(p), []);

  return (
    <Card
      title={id ? t(readOnly ? 'jobs.viewTitle' : 'jobs.editTitle', { id }) : newTitle}
      actions={
        <button type="button" className="btn" onClick={onClose}>
          {t('common.close')}
        </button>
      }
      testId={testId}
    >
      {id !== null && source.isPending ? (
        <Loading />
      ) : source.isError ? (
        <ErrorCard error={source.error} />
      ) : (
        <>
          <YamlEditor
            value={value}
            onChange={readOnly ? undefined : setText}
            schema={schemaQuery.data}
            readOnly={readOnly}
            onProblems={onProblems}
          />
          {save.isError ? (
            <div className="mt-2">
              <ErrorCard error={save.error} what={t('jobs.saveFailed')} />
            </div>
          ) : null}
          {!readOnly ? (
            <div className="mt-3 flex justify-end gap-2">
              <button
                type="button"
                className="btn btn-primary"
                disabled={save.isPending || problems.length > 0}
                onClick={() => save.mutate()}
              >
                {save.isPending ? t('common.working') : t('jobs.save')}
              </button>
            </div>
          ) : null}
        </>
      )}
    </Card>
  );
}
