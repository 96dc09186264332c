// YAML text -> JavaScript value, for instant feedback in the manifest editor.
// It walks the syntax tree of CodeMirror's YAML grammar (@codemirror/lang-yaml,
// already loaded with the editor) instead of shipping a second YAML parser,
// and records the line of every mapping key and sequence item so schema
// errors can point at a line. It covers what manifests use: block and flow
// mappings and sequences, plain / quoted / block scalars with chomping,
// anchors and aliases, core-schema scalars (null, booleans, numbers); not
// explicit block indentation indicators or multi-document streams. The
// backend parses the saved text with a full YAML parser and stays the
// authority: this only has to agree on well-formed manifests.
import { yamlLanguage } from '@codemirror/lang-yaml';

type Node = NonNullable<ReturnType<typeof yamlLanguage.parser.parse>['topNode']['firstChild']>;

export interface YamlProblem {
  line: number;
  message: string;
}

export interface YamlValue {
  value: unknown;
  problems: YamlProblem[];
  /** Line of each path (`execute.timeout`, `tags.1`) found in the text. */
  lines: Map<string, number>;
}

const SKIP = new Set(['Comment', ':', ',', '[', ']', '{', '}', '-', '?', 'DirectiveEnd', 'DocEnd', 'Tag']);

function plainScalar(raw: string): unknown {
  const s = raw
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .trim();
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number.parseInt(s, 10);
  if (/^0o[0-7]+$/.test(s)) return Number.parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number.parseFloat(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return Number.NaN;
  return s;
}

/** Line folding inside flow scalars: a single newline is a space, n newlines are n-1 newlines. */
function fold(s: string): string {
  return s.replace(/[ \t]*\n([ \t]*\n)*[ \t]*/g, (m) => {
    const breaks = (m.match(/\n/g) ?? []).length;
    return breaks === 1 ? ' ' : '\n'.repeat(breaks - 1);
  });
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};

function quoted(raw: string): string {
  const body = raw.slice(1, -1);
  if (raw.startsWith("'")) return fold(body).replaceAll("''", "'");
  return fold(body.replace(/\\\n[ \t]*/g, '')).replace(
    /\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g,
    (_m, e: string) =>
      e.length > 1 ? String.fromCodePoint(Number.parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? `\\${e}`),
  );
}

function blockScalar(header: string, content: string): string {
  const literal = header.startsWith('|');
  const chomp = header.includes('-') ? 'strip' : header.includes('+') ? 'keep' : 'clip';
  // The indentation is taken from the content (an explicit indentation indicator is not honoured).
  const lines = content.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0));
  let text: string;
  if (literal) text = body.join('\n');
  else {
    // Folding: a single break between two plain lines is a space; each empty line is a newline;
    // breaks around more-indented lines are kept.
    text = body[0] ?? '';
    for (let i = 1; i < body.length; i++) {
      const l = body[i]!;
      const prev = body[i - 1]!;
      const indented = /^\s/.test(l);
      if (l === '') text += '\n';
      else if (prev === '') text += indented ? `\n${l}` : l;
      else if (indented || /^\s/.test(prev)) text += `\n${l}`;
      else text += ` ${l}`;
    }
  }
  const trimmed = text.replace(/\n+$/, '');
  if (chomp === 'strip') return trimmed;
  if (chomp === 'keep') return `${text}\n`;
  return trimmed === '' ? '' : `${trimmed}\n`;
}

export function parseYamlValue(text: string): YamlValue {
  const tree = yamlLanguage.parser.parse(text);
  const problems: YamlProblem[] = [];
  const lines = new Map<string, number>();
  const anchors = new Map<string, unknown>();
  const lineAt = (pos: number) => text.slice(0, pos).split('\n').length;
  const src = (n: Node) => text.slice(n.from, n.to);

  tree.iterate({
    enter(n) {
      if (n.type.isError) {
        problems.push({ line: lineAt(n.from), message: 'YAML syntax error' });
      }
    },
  });

  function kids(n: Node): Node[] {
    const out: Node[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (!SKIP.has(c.name) && !c.type.isError) out.push(c);
    return out;
  }

  function value(n: Node | undefined, path: string): unknown {
    if (!n) return null;
    switch (n.name) {
      case 'BlockMapping':
      case 'FlowMapping': {
        const out: Record<string, unknown> = {};
        for (const pair of kids(n)) {
          if (pair.name !== 'Pair') continue;
          const parts = kids(pair);
          const keyNode = parts.find((c) => c.name === 'Key');
          const key = keyNode ? String(scalarOf(kids(keyNode))) : '';
          const p = path ? `${path}.${key}` : key;
          if (Object.hasOwn(out, key))
            problems.push({ line: lineAt(pair.from), message: `duplicate key ${key}` });
          lines.set(p, lineAt(pair.from));
          out[key] = valueAmong(
            parts.filter((c) => c.name !== 'Key'),
            p,
          );
        }
        return out;
      }
      case 'BlockSequence':
      case 'FlowSequence': {
        const items = kids(n).filter((c) => c.name === 'Item');
        return items.map((item, i) => {
          const p = path ? `${path}.${i}` : String(i);
          lines.set(p, lineAt(item.from));
          return valueAmong(kids(item), p);
        });
      }
      case 'Literal':
        return plainScalar(src(n));
      case 'QuotedLiteral':
        return quoted(src(n));
      case 'BlockLiteral': {
        const header = n.getChild('BlockLiteralHeader');
        const content = n.getChild('BlockLiteralContent');
        return blockScalar(header ? src(header) : '|', content ? src(content) : '');
      }
      case 'Anchored':
        return valueAmong(kids(n), path);
      case 'Alias': {
        const name = src(n).slice(1);
        if (!anchors.has(name)) problems.push({ line: lineAt(n.from), message: `unknown alias *${name}` });
        return anchors.get(name) ?? null;
      }
      default:
        return null;
    }
  }

  /** The value among sibling nodes, honouring an anchor in front of it. */
  function valueAmong(nodes: Node[], path: string): unknown {
    const anchor = nodes.find((c) => c.name === 'Anchor');
    const v = value(
      nodes.find((c) => c.name !== 'Anchor'),
      path,
    );
    if (anchor) anchors.set(src(anchor).slice(1), v);
    return v;
  }

  function scalarOf(nodes: Node[]): unknown {
    const n = nodes.find((c) => c.name !== 'Anchor');
    return n ? value(n, '') : '';
  }

  const docs = kids(tree.topNode).filter((c) => c.name === 'Document');
  if (docs.length > 1)
    problems.push({ line: lineAt(docs[1]!.from), message: 'expected a single YAML document' });
  const v = docs[0] ? valueAmong(kids(docs[0]), '') : null;
  return { value: v, problems, lines };
}
