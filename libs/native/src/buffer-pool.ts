/**
 * Freed kernel-output arrays kept for reuse, by length, up to a byte budget. When a new array would not fit, the
 * arrays of the least recently used lengths make room: a process that trains one network and then another (a
 * notebook, the step benchmark) would otherwise keep the first network's arrays forever and allocate fresh ones for
 * every step of the second (the small cpu-profile network stepped in 0.013–0.018 s after SphereFace-20 had filled the
 * pool, 0.011 s with the pool emptied).
 */
export class BufferPool {
  /** Arrays by length; the Map's order is the order of use, least recent first. */
  private readonly lists = new Map<number, Float32Array[]>();
  private bytes = 0;

  constructor(readonly capacityBytes: number) {}

  /** Bytes held now. */
  get pooledBytes(): number {
    return this.bytes;
  }

  /** An array of this length from the pool, or undefined. */
  take(length: number): Float32Array | undefined {
    const list = this.lists.get(length);
    const hit = list?.pop();
    if (!hit) return undefined;
    this.bytes -= hit.byteLength;
    this.markUsed(length, list!);
    return hit;
  }

  /** Keeps `array` for reuse, evicting least recently used lengths if needed; one larger than the budget is dropped. */
  give(array: Float32Array): void {
    if (array.byteLength > this.capacityBytes) return;
    for (const [length, list] of this.lists) {
      if (this.bytes + array.byteLength <= this.capacityBytes) break;
      while (list.length && this.bytes + array.byteLength > this.capacityBytes) this.bytes -= list.pop()!.byteLength;
      if (!list.length) this.lists.delete(length);
    }
    const list = this.lists.get(array.length) ?? [];
    list.push(array);
    this.bytes += array.byteLength;
    this.markUsed(array.length, list);
  }

  clear(): void {
    this.lists.clear();
    this.bytes = 0;
  }

  private markUsed(length: number, list: Float32Array[]): void {
    this.lists.delete(length);
    this.lists.set(length, list);
  }
}
