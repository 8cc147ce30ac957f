/**
 * Internal: base64url without padding (RFC 4648 section 5), for invite tokens and text transports. One
 * implementation serves the package: `sse/base64url.ts` (the platform's native base64 where it exists, portable
 * code otherwise, canonical text only); this module only adds the optional `=` padding invite links may carry
 * when a person or a mail client added it.
 */
import { fromBase64url, toBase64url } from './sse/base64url.js';

/** base64url of `bytes`, no padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64url(bytes);
}

/**
 * Bytes of a base64url string; up to two `=` of padding are accepted (and must make the length a multiple of 4).
 * @returns null if the text is not canonical base64url (bad character, length or tail bits).
 */
export function fromBase64Url(text: string): Uint8Array | null {
  let end = text.length;
  while (end > 0 && text.length - end < 2 && text.charCodeAt(end - 1) === 0x3d) end--;
  if (end < text.length && text.length % 4 !== 0) return null;
  return fromBase64url(end === text.length ? text : text.slice(0, end));
}
