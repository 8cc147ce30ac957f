/** Shared by `log.test.ts` (Node) and `log.worker.ts` (Chromium): case names and inputs. */
import type { DocOp } from '@hearth/crdt';

export const LOG_BROWSER_CASES = [
  'log: WebCrypto Ed25519 is available in Chromium',
  'log: RFC 8032 vectors sign and verify on both backends',
  'log: backends agree on mutated signatures and refuse a torsioned R',
  'log: entries sign identically and verify as a range on both backends',
  'log: feed store on OPFS survives close and reopen',
  'crdt: state hash in Chromium equals the one computed in Node',
] as const;

/** RFC 8032 section 7.1 TEST 1, 2 and 3 (TEST 1024's message is passed in at build time). */
export const RFC8032_SHORT = [
  {
    name: 'TEST 1',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** A fixed set of document ops from three feeds (puts, patches with removals, a delete, an HLC tie). */
export function crdtSampleOps(): DocOp[] {
  const feed = (b: number) => new Uint8Array(32).fill(b);
  const v = (s: string) => new TextEncoder().encode(s);
  return [
    { type: 'put', hlc: 100n, feed: feed(1), fields: { title: v('a'), n: v('1'), 'ü': v('x') } },
    { type: 'patch', hlc: 101n, feed: feed(2), fields: { n: null, tag: v('t') } },
    { type: 'delete', hlc: 99n, feed: feed(3) },
    { type: 'patch', hlc: 101n, feed: feed(3), fields: { tag: v('u') } },
    { type: 'put', hlc: 102n, feed: feed(2), fields: { title: v('b') } },
    { type: 'patch', hlc: 103n, feed: feed(1), fields: { z: v('zz') } },
  ];
}
