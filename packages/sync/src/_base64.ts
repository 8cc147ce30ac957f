/**
 * Internal: base64url without padding (RFC 4648 section 5), for invite tokens and text transports. Uses the
 * platform's `btoa`/`atob` (browsers, workers, Node >= 16).
 */

/** base64url of `bytes`, no padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Bytes of a base64url string (padding optional); null if it is not base64url. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return null;
  let s: string;
  try {
    s = atob(text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.replace(/=+$/, '').length % 4)) % 4));
  } catch {
    return null;
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
