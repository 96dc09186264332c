// The YAML editor (CodeMirror 6; only pages that edit YAML load it). While
// the operator types, the text is read as YAML and checked against the
// JSON Schema the backend publishes, and every problem is listed with its
// line. Saving still goes to the server, which validates everything
// (including rules a schema cannot express) and answers 400 naming the field.
import { yaml } from '@codemirror/lang-yaml';
import CodeMirror from '@uiw/react-codemirror';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Schema, validateSchema } from '../lib/json-schema.js';
import { useTheme } from '../lib/theme.js';
import { parseYamlValue } from '../lib/yaml-value.js';

export interface EditorProblem {
  line: number | null;
  message: string;
}

/** YAML + schema problems of `text`, nearest line first for fields that are missing. */
export function yamlProblems(text: string, schema: Schema | undefined): EditorProblem[] {
  const parsed = parseYamlValue(text);
  const out: EditorProblem[] = parsed.problems.map((p) => ({ line: p.line, message: p.message }));
  if (out.length === 0 && schema) {
    for (const p of validateSchema(schema, parsed.value)) {
      // A missing field has no line of its own: point at its parent mapping.
      const line =
        parsed.lines.get(p.path) ?? parsed.lines.get(p.path.split('.').slice(0, -1).join('.')) ?? null;
      out.push({ line, message: p.path ? `${p.path}: ${p.message}` : p.message });
    }
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

export function YamlEditor({
  value,
  onChange,
  schema,
  readOnly = false,
  onProblems,
}: {
  value: string;
  onChange?(v: string): void;
  schema?: Schema;
  readOnly?: boolean;
  onProblems?(p: EditorProblem[]): void;
}) {
  const { t } = useTranslation();
  const { resolved } = useTheme();
  const extensions = useMemo(() => [yaml()], []);
  const [problems, setProblems] = useState<EditorProblem[]>([]);

  useEffect(() => {
    const id = setTimeout(() => {
      const p = yamlProblems(value, schema);
      setProblems(p);
      onProblems?.(p);
    }, 200);
    return () => clearTimeout(id);
  }, [value, schema, onProblems]);

  return (
    <div>
      <div
        className="overflow-hidden rounded-md border border-zinc-300 dark:border-zinc-700"
        data-testid="yaml-editor"
      >
        <CodeMirror
          value={value}
          onChange={onChange}
          readOnly={readOnly}
          editable={!readOnly}
          theme={resolved}
          extensions={extensions}
          height="420px"
          basicSetup={{ foldGutter: true, highlightActiveLine: !readOnly }}
        />
      </div>
      {!readOnly ? (
        <ul className="mt-2 space-y-0.5 text-xs" data-testid="yaml-problems" aria-live="polite">
          {problems.length === 0 ? (
            <li className="text-emerald-700 dark:text-emerald-400">{t('editor.valid')}</li>
          ) : (
            problems.map((p) => (
              <li key={`${p.line}-${p.message}`} className="text-red-700 dark:text-red-400">
                {p.line ? t('editor.line', { n: p.line }) : ''} {p.message}
              </li>
            ))
          )}
        </ul>
      ) : null}
    </div>
  );
}
