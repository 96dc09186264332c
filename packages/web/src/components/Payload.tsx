// A JSON value in a table cell: short values inline, longer ones folded
// behind their first characters and expanded on click (audit payloads,
// event payloads, inventory history values).
export function Payload({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const short = JSON.stringify(value);
  if (short.length <= 60) return <code className="text-xs break-all">{short}</code>;
  return (
    <details className="max-w-md">
      <summary className="cursor-pointer truncate font-mono text-xs">{short.slice(0, 60)}…</summary>
      <pre className="mt-1 max-h-64 overflow-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-950">
        {JSON.stringify(value, null, 2)}
      </pre>
    </details>
  );
}
