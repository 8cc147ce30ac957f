/** The documents of the `browser` benchmark suite: generated, ~200 bytes, the same for every system. */
import type { Document } from '@hearth/db';

/** The benchmark document number `i`. */
export function doc(i: number): Document {
  const words = ['ember', 'hearth', 'oak', 'stone', 'river', 'lantern', 'meadow', 'quill', 'harbor', 'cinder'];
  let body = '';
  for (let k = 0; body.length < 120; k++) body += words[(i * 7 + k * 3) % words.length] + ' ';
  return { title: `document ${i}`, body: body.trim(), n: i, done: i % 3 === 0, tags: ['bench', words[i % words.length]] };
}

/** Its key. */
export const idOf = (i: number): string => 'd' + String(i).padStart(8, '0');
