// Copying text. The async Clipboard API exists only in secure contexts
// (HTTPS, or http://localhost): a dashboard opened over plain HTTP on a LAN
// address has none, so the text is copied from a hidden textarea instead.

/** Copies `text`; resolves to false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // denied: try the fallback
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}
