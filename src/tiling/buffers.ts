// Growable flat number buffers, reused from tile to tile so the hot path allocates nothing per vertex.

export class Flat64 {
  data = new Float64Array(1024);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push2(x: number, y: number): void {
    if (this.length + 2 > this.data.length) this.grow(this.length + 2);
    this.data[this.length++] = x;
    this.data[this.length++] = y;
  }

  private grow(min: number): void {
    const next = new Float64Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

export class FlatU32 {
  data = new Uint32Array(1024);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  /** A view of `length` slots to fill (the contents are not kept). */
  reserve(length: number): Uint32Array {
    if (length > this.data.length) this.data = new Uint32Array(Math.max(length, this.data.length * 2));
    this.length = length;
    return this.data.subarray(0, length);
  }
}
