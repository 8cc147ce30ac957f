#!/usr/bin/env node
// Writes Hearth Notes' PNG icons (public/icons/icon-192.png, icon-512.png): a terracotta rounded square with a
// cream flame and an amber ember, the same shapes as public/icons/icon.svg, drawn with 4×4 supersampling.
// No dependencies: PNG (RFC 2083) is written with node:zlib and a CRC-32 table. Run: node apps/demo/scripts/make-icons.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'public', 'icons');

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const BG = [0xb4, 0x44, 0x1f];
const FLAME = [0xfb, 0xf7, 0xf2];
const EMBER = [0xf0, 0xa3, 0x5e];

// Shapes in the 512-unit space of icon.svg.
function colourAt(x, y) {
  // rounded square, radius 96
  const r = 96;
  const cx = Math.min(Math.max(x, r), 512 - r);
  const cy = Math.min(Math.max(y, r), 512 - r);
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return null;
  if ((x - 256) ** 2 + (y - 330) ** 2 <= 52 * 52) return EMBER;
  // flame: a disc of radius 116 at (256, 318) joined to a tip at (256, 88)
  const inDisc = (x - 256) ** 2 + (y - 318) ** 2 <= 116 * 116;
  let inTip = false;
  if (y >= 88 && y <= 318) {
    const t = (y - 88) / (318 - 88); // 0 at the tip, 1 at the disc's centre line
    const half = 116 * Math.sin((t * Math.PI) / 2);
    inTip = Math.abs(x - 256) <= half;
  }
  return inDisc || inTip ? FLAME : BG;
}

function png(size) {
  const S = 4;
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const c = colourAt(((px + (sx + 0.5) / S) * 512) / size, ((py + (sy + 0.5) / S) * 512) / size);
          if (c === null) continue;
          r += c[0]; g += c[1]; b += c[2]; a += 255;
        }
      }
      const n = S * S;
      const covered = a / 255;
      const o = py * (size * 4 + 1) + 1 + px * 4;
      raw[o] = covered ? Math.round(r / covered) : 0;
      raw[o + 1] = covered ? Math.round(g / covered) : 0;
      raw[o + 2] = covered ? Math.round(b / covered) : 0;
      raw[o + 3] = Math.round(a / n);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

for (const size of [192, 512]) {
  const file = join(out, `icon-${size}.png`);
  writeFileSync(file, png(size));
  console.log(`wrote ${file}`);
}
