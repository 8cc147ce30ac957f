/**
 * Access control of the relay: one-time challenge nonces and the access tokens a verified answer earns.
 *
 * A client proves it holds a key by signing `relayAuthMessageV1(space, key, nonce, timestamp)` (ed25519,
 * `docs/formats/sync-protocol.md`, "SSE binding"): the nonce was issued by this relay for this space less than a
 * minute ago and is used once; the timestamp is within 5 minutes of the relay's clock. Membership is checked by
 * the caller (the relay) at grant time and again on every request, so a removal takes effect without waiting for
 * the token to expire.
 *
 * A key that is not a member may ask for an **admission** token instead (when the relay allows it): it opens one
 * sync connection, on which the relay serves nothing (the sync node serves members only) and stores nothing (the
 * node holds a non-member's entries pending in memory, bounded); it exists so a device holding an invite can send
 * its admission request through the relay to an admin (`docs/sync.md`, "Joining a space").
 *
 * Invariants:
 * 1. A nonce is accepted at most once, for the space it was issued for, before it expires.
 * 2. At most `maxChallenges` nonces and `maxTokens` tokens are held; issuing past that evicts the oldest (a flood
 *    of challenges can only expire other unanswered challenges, never grant access).
 * @packageDocumentation
 */
import { verifyEd25519 } from '@hearth/log';
import {
  RELAY_AUTH_MAX_SKEW_MS,
  RELAY_CHALLENGE_TTL_MS,
  RELAY_TOKEN_TTL_MS,
  RelayError,
  RelayErrorCode,
  fromBase64url,
  relayAuthMessageV1,
  toBase64url,
} from '@hearth/sync';

/** Lifetime of an admission token and of the connection it opens, ms (2 minutes). */
export const ADMISSION_TOKEN_TTL_MS = 2 * 60 * 1000;

/** A granted token's subject. */
export interface Grant {
  /** `member`: full access while the key is a member; `admission`: a sync connection only, to ask for admission. */
  readonly scope: 'member' | 'admission';
  readonly spaceHex: string;
  readonly key: Uint8Array;
  readonly keyHex: string;
  readonly expiresAt: number;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses 64 hex digits into 32 bytes; null if malformed. */
export function parseKeyHex(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || !/^[0-9a-f]{64}$/.test(text)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Challenges and tokens (see the file header). */
export class RelayAuth {
  private readonly challenges = new Map<string, { spaceHex: string; expiresAt: number }>();
  private readonly tokens = new Map<string, Grant>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly tokenTtlMs = RELAY_TOKEN_TTL_MS,
    private readonly maxChallenges = 10_000,
    private readonly maxTokens = 10_000,
  ) {}

  /** Issues a one-time nonce for a space. */
  challenge(spaceHex: string): { nonce: string; expiresAt: number } {
    const nonce = toBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const expiresAt = this.now() + RELAY_CHALLENGE_TTL_MS;
    this.challenges.set(nonce, { spaceHex, expiresAt });
    while (this.challenges.size > this.maxChallenges) this.challenges.delete(this.challenges.keys().next().value!);
    return { nonce, expiresAt };
  }

  /**
   * Checks a challenge answer; consumes the nonce.
   * @returns the proven key.
   * @throws RelayError `HEARTH_RELAY_BAD_REQUEST` (malformed fields), `HEARTH_RELAY_UNAUTHORIZED` (unknown, used,
   *   expired or foreign nonce; timestamp out of range; signature does not verify).
   */
  async verify(space: Uint8Array, body: unknown): Promise<Uint8Array> {
    const b = (body ?? {}) as Record<string, unknown>;
    const key = parseKeyHex(b.key);
    const nonce = typeof b.nonce === 'string' ? fromBase64url(b.nonce) : null;
    const signature = typeof b.signature === 'string' ? fromBase64url(b.signature) : null;
    const timestamp = b.timestamp;
    if (key === null || nonce === null || nonce.length !== 32 || signature === null || signature.length !== 64 || typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new RelayError(RelayErrorCode.BAD_REQUEST, 'auth expects {"key": 64 hex, "nonce": base64url of 32 bytes, "timestamp": ms, "signature": base64url of 64 bytes}');
    }
    const spaceHex = hex(space);
    const issued = this.challenges.get(b.nonce as string);
    this.challenges.delete(b.nonce as string);
    const now = this.now();
    if (issued === undefined || issued.spaceHex !== spaceHex || issued.expiresAt < now) {
      throw new RelayError(RelayErrorCode.UNAUTHORIZED, 'unknown, used or expired challenge nonce');
    }
    if (Math.abs(timestamp - now) > RELAY_AUTH_MAX_SKEW_MS) throw new RelayError(RelayErrorCode.UNAUTHORIZED, `timestamp ${timestamp} is more than 5 minutes from the relay clock`);
    const ok = await verifyEd25519(signature, relayAuthMessageV1(space, key, nonce, timestamp), key);
    if (!ok) throw new RelayError(RelayErrorCode.UNAUTHORIZED, 'challenge signature does not verify against the key');
    return key;
  }

  /** Issues an access token for a proven key in a space (admission tokens live at most `ADMISSION_TOKEN_TTL_MS`). */
  grant(spaceHex: string, key: Uint8Array, scope: Grant['scope'] = 'member'): { token: string; expiresAt: number } {
    const token = toBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const expiresAt = this.now() + (scope === 'admission' ? Math.min(this.tokenTtlMs, ADMISSION_TOKEN_TTL_MS) : this.tokenTtlMs);
    this.tokens.set(token, { scope, spaceHex, key: key.slice(), keyHex: hex(key), expiresAt });
    while (this.tokens.size > this.maxTokens) this.tokens.delete(this.tokens.keys().next().value!);
    return { token, expiresAt };
  }

  /**
   * The grant of a token for a space.
   * @throws RelayError `HEARTH_RELAY_UNAUTHORIZED` if it is missing, unknown, expired or for another space.
   */
  check(token: string | undefined, spaceHex: string): Grant {
    if (token === undefined || token === '') throw new RelayError(RelayErrorCode.UNAUTHORIZED, 'no access token (Authorization: Bearer, or ?token=); answer a challenge first');
    const g = this.tokens.get(token);
    if (g === undefined || g.spaceHex !== spaceHex) throw new RelayError(RelayErrorCode.UNAUTHORIZED, 'unknown access token');
    if (g.expiresAt < this.now()) {
      this.tokens.delete(token);
      throw new RelayError(RelayErrorCode.UNAUTHORIZED, 'access token expired');
    }
    return g;
  }
}
