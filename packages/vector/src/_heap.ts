/**
 * Binary heaps of (distance, slot) pairs on typed arrays, reused across searches (no allocation per push).
 * `MinHeap` pops the nearest (the candidate queue C of the HNSW paper); `MaxHeap` pops the farthest (the result
 * set W, whose top is the current bound).
 * @internal
 */
export class MinHeap {
  d: Float64Array;
  id: Int32Array;
  size = 0;
  constructor(capacity = 64) {
    this.d = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
  }
  clear(): void {
    this.size = 0;
  }
  private grow(): void {
    const d = new Float64Array(this.d.length * 2);
    d.set(this.d);
    const id = new Int32Array(this.id.length * 2);
    id.set(this.id);
    this.d = d;
    this.id = id;
  }
  push(dist: number, slot: number): void {
    if (this.size === this.d.length) this.grow();
    const d = this.d;
    const ids = this.id;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] <= dist) break;
      d[i] = d[p];
      ids[i] = ids[p];
      i = p;
    }
    d[i] = dist;
    ids[i] = slot;
  }
  topDist(): number {
    return this.d[0];
  }
  topId(): number {
    return this.id[0];
  }
  /** Removes the top; read it with topDist/topId first. */
  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const d = this.d;
    const ids = this.id;
    const x = d[n];
    const xi = ids[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] < d[c]) c++;
      if (d[c] >= x) break;
      d[i] = d[c];
      ids[i] = ids[c];
      i = c;
    }
    d[i] = x;
    ids[i] = xi;
  }
}

export class MaxHeap {
  d: Float64Array;
  id: Int32Array;
  size = 0;
  constructor(capacity = 64) {
    this.d = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
  }
  clear(): void {
    this.size = 0;
  }
  private grow(): void {
    const d = new Float64Array(this.d.length * 2);
    d.set(this.d);
    const id = new Int32Array(this.id.length * 2);
    id.set(this.id);
    this.d = d;
    this.id = id;
  }
  push(dist: number, slot: number): void {
    if (this.size === this.d.length) this.grow();
    const d = this.d;
    const ids = this.id;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] >= dist) break;
      d[i] = d[p];
      ids[i] = ids[p];
      i = p;
    }
    d[i] = dist;
    ids[i] = slot;
  }
  topDist(): number {
    return this.d[0];
  }
  topId(): number {
    return this.id[0];
  }
  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const d = this.d;
    const ids = this.id;
    const x = d[n];
    const xi = ids[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] > d[c]) c++;
      if (d[c] <= x) break;
      d[i] = d[c];
      ids[i] = ids[c];
      i = c;
    }
    d[i] = x;
    ids[i] = xi;
  }
  /** Drains into arrays sorted nearest first. */
  drainSorted(): { d: Float64Array; id: Int32Array } {
    const n = this.size;
    const d = new Float64Array(n);
    const id = new Int32Array(n);
    for (let i = n - 1; i >= 0; i--) {
      d[i] = this.d[0];
      id[i] = this.id[0];
      this.pop();
    }
    return { d, id };
  }
}
