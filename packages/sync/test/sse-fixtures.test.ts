/**
 * The committed fixtures of the SSE binding (`docs/formats/sync-protocol.md`, "SSE binding") still match what the
 * code writes byte for byte, and decode back to the frames of `session-v1.bin` (stream and batch) and to a
 * signature that verifies (challenge answer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { verifyEd25519 } from '@hearth/log';
import { decodeBatchV1, decodeSseMessageDataV1, encodeBatchV1, DEFAULT_SSE_MAX_MESSAGE_BYTES } from '../src/index.js';
import { fixtureAuth, fixtureStream, sessionFrames } from './fixtures/sse-make-fixtures.js';

const dir = new URL('./fixtures/', import.meta.url).pathname;

test('sse-stream-v1.txt: the hub writes it byte for byte; its events decode to the session frames', async () => {
  const text = readFileSync(`${dir}sse-stream-v1.txt`, 'utf8');
  assert.equal(await fixtureStream(), text);
  const events = text.split('\n\n').filter((e) => e !== '');
  assert.equal(events.length, 4);
  assert.match(events[0], /^retry: 5000\nevent: hello\ndata: /);
  const hello = JSON.parse(events[0].split('data: ')[1]) as Record<string, unknown>;
  assert.deepEqual(hello, { v: 1, connection: '000102030405060708090a0b0c0d0e0f', maxMessageBytes: DEFAULT_SSE_MAX_MESSAGE_BYTES, maxMessagesPerPost: 256, maxPostBytes: 4 * 1024 * 1024 + 4096, post: 'connections/000102030405060708090a0b0c0d0e0f' });
  const frames = sessionFrames(2);
  for (let i = 0; i < 2; i++) {
    const [idLine, dataLine] = events[i + 1].split('\n');
    assert.equal(idLine, `id: ${i}`);
    assert.deepEqual(decodeSseMessageDataV1(dataLine.slice('data: '.length)), frames[i]);
  }
  assert.equal(events[3], 'event: close\ndata: {"reason":"bye"}');
});

test('sse-batch-v1.bin: a POST batch of the first two session frames', () => {
  const bin = new Uint8Array(readFileSync(`${dir}sse-batch-v1.bin`));
  const frames = sessionFrames(2);
  assert.deepEqual(bin, encodeBatchV1(frames));
  assert.deepEqual(decodeBatchV1(bin, DEFAULT_SSE_MAX_MESSAGE_BYTES, 256), frames);
  assert.equal(new DataView(bin.buffer, bin.byteOffset).getUint32(0), 133); // HELLO frame: 16 + 117 bytes
});

test('sse-auth-v1.txt: the challenge answer layout and its TEST 1 signature', async () => {
  const text = readFileSync(`${dir}sse-auth-v1.txt`, 'utf8');
  assert.equal(await fixtureAuth(), text);
  const [msgHex, sigHex] = text.trim().split('\n').map((l) => l.split(' ')[1]);
  const msg = new Uint8Array(Buffer.from(msgHex, 'hex'));
  assert.equal(msg.length, 124);
  const key = msg.subarray(52, 84);
  assert.ok(await verifyEd25519(new Uint8Array(Buffer.from(sigHex, 'hex')), msg, key));
});
