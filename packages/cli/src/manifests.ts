// YAML manifests from files or folders, so jobs and schedules can live in
// Git: a folder means every *.yaml / *.yml file under it (sorted, recursive),
// a file may hold several documents separated by `---`. A job's
// `execute.script_file` (CLI-only, as upstream) is inlined into
// `execute.script` from the file it names, relative to the manifest, before
// the upload; otherwise a single-document file goes up verbatim, comments
// and all, since the backend keeps the YAML source for the editor.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, parseAllDocuments } from 'yaml';
import { usage } from './errors.js';

export interface ManifestDoc {
  file: string;
  /** Position of the document in its file (0-based). */
  index: number;
  text: string;
  /** `id` of the document, when it has one (for messages). */
  id: string | undefined;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.ya?ml$/i.test(e.name)) out.push(p);
  }
  return out;
}

export function collectFiles(paths: readonly string[]): string[] {
  if (paths.length === 0) throw usage('give at least one YAML file or folder');
  const files: string[] = [];
  for (const p of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw usage(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const found = walk(p);
      if (found.length === 0) throw usage(`${p}: no .yaml or .yml files in this folder`);
      files.push(...found);
    } else files.push(p);
  }
  return files;
}

export function readManifests(file: string, inlineScripts: boolean): ManifestDoc[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) return [];
  const out: ManifestDoc[] = [];
  docs.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const at = err.linePos?.[0];
      throw usage(`${file}${at ? `:${at.line}:${at.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    if (doc.contents === null) return;
    if (!isMap(doc.contents)) throw usage(`${file}: document ${index + 1} is not a mapping`);
    const id = doc.get('id');
    let changed = false;
    const scriptFile = doc.getIn(['execute', 'script_file']);
    if (inlineScripts && typeof scriptFile === 'string') {
      const path = resolve(dirname(file), scriptFile);
      let script: string;
      try {
        script = readFileSync(path, 'utf8');
      } catch (e) {
        throw usage(`${file}: execute.script_file ${scriptFile}: ${(e as Error).message}`);
      }
      doc.setIn(['execute', 'script'], script);
      doc.deleteIn(['execute', 'script_file']);
      changed = true;
    }
    out.push({
      file,
      index,
      text: docs.length === 1 && !changed ? text : doc.toString(),
      id: typeof id === 'string' ? id : undefined,
    });
  });
  return out;
}
