// Saving a file the API serves as an attachment. The SPA authenticates with
// a bearer header, which a plain <a href> cannot carry: the file is fetched
// through apiFetch, held as a blob and saved through an object URL under the
// name the server's Content-Disposition gives (RFC 6266: `filename*` in
// UTF-8 wins over `filename`), or the caller's fallback.
import { apiFetch } from './api.js';

/** The file name a Content-Disposition header names, or `fallback`. Path parts are dropped. */
export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  let name: string | undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star?.[1]) {
    try {
      name = decodeURIComponent(star[1].trim());
    } catch {
      // malformed percent-encoding: try the plain parameter
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(disposition);
    name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2];
  }
  const base = name?.split(/[/\\]/).pop()?.trim();
  return base || fallback;
}

/** Offers `blob` to the browser as a download named `name`. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the download in some browsers; the blob is freed a minute later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Fetches `path` with the session's credentials and saves it; resolves to the name it was saved under. */
export async function downloadFile(path: string, fallbackName: string): Promise<string> {
  const res = await apiFetch(path);
  const name = filenameFrom(res.headers.get('content-disposition'), fallbackName);
  saveBlob(await res.blob(), name);
  return name;
}
