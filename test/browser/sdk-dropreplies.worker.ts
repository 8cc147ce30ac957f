/**
 * A custom SDK worker entry that commits followers' requests but never answers them on the BroadcastChannel
 * (every `res` message is dropped), as a leader that dies between commit and reply would. Used by
 * `sdk-retry.test.ts` to make "committed but not acknowledged" deterministic.
 */
import { startWorker } from '@hearth/sdk/host';

const post = BroadcastChannel.prototype.postMessage;
BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, m: unknown): void {
  if (typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'res') return;
  post.call(this, m);
};
startWorker();
