// Pyramids of bboxes, so a tile skips what lies far from it in one test, whatever its size.
// Vertex blocks: level 0 holds runs of BLOCK vertices of the layer's vertex array, each next level
// runs twice as long; per block its world bbox and the highest importance in it. Part blocks:
// level 0 is each part's (ring's, line's) bbox, each next level pairs them up. A tile walks a ring
// (or a feature's parts) from the largest aligned block down, so a run far from the tile (or too
// fine for its zoom) costs one test: cutting a tile costs about what it shows, not the size of
// what it touches. Memory is fixed at preparation, whatever zoom is asked: about 2 bytes per
// vertex and 64 per part (none for a layer of single points); the coordinates take 16 per vertex.

/** Vertices per level-0 vertex block: 2^BLOCK_BITS. */
export const BLOCK_BITS = 5;
export const BLOCK = 1 << BLOCK_BITS;

export interface BoxPyramid {
  /** World bbox (minx, miny, maxx, maxy) per block, level after level. */
  boxes: Float64Array;
  /** Index of each level's first block; a level-k block covers 2^k level-0 blocks. */
  levelStart: Uint32Array;
}

export interface VertexBlocks extends BoxPyramid {
  /** Highest vertex importance per block: at or under a zoom's tolerance, the block adds no vertex. */
  importance: Float32Array;
}

/** Allocates a pyramid over `count` level-0 blocks; `fill` writes level 0, upper levels merge pairs. */
function pyramid(count: number, fill: (boxes: Float64Array, importance: Float32Array) => void): VertexBlocks {
  const counts = [Math.max(1, count)];
  while (counts[counts.length - 1] > 1) counts.push(Math.ceil(counts[counts.length - 1] / 2));
  const starts = [0];
  for (const c of counts) starts.push(starts[starts.length - 1] + c);
  const total = starts[starts.length - 1];
  const boxes = new Float64Array(new SharedArrayBuffer(total * 32));
  const importance = new Float32Array(new SharedArrayBuffer(total * 4));
  fill(boxes, importance);
  for (let k = 1; k < counts.length; k++) {
    for (let b = 0; b < counts[k]; b++) {
      const out = starts[k] + b, a = starts[k - 1] + 2 * b, c = 2 * b + 1 < counts[k - 1] ? a + 1 : a;
      boxes[out * 4] = Math.min(boxes[a * 4], boxes[c * 4]);
      boxes[out * 4 + 1] = Math.min(boxes[a * 4 + 1], boxes[c * 4 + 1]);
      boxes[out * 4 + 2] = Math.max(boxes[a * 4 + 2], boxes[c * 4 + 2]);
      boxes[out * 4 + 3] = Math.max(boxes[a * 4 + 3], boxes[c * 4 + 3]);
      importance[out] = Math.max(importance[a], importance[c]);
    }
  }
  const levelStart = new Uint32Array(new SharedArrayBuffer(starts.length * 4));
  levelStart.set(starts);
  return { boxes, importance, levelStart };
}

/** Writes the bbox of vertices [from, to) of `world` (x, y pairs) at box `at`. */
function boxOf(world: Float64Array, from: number, to: number, boxes: Float64Array, at: number): void {
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  for (let v = from; v < to; v++) {
    const x = world[2 * v], y = world[2 * v + 1];
    if (x < minx) minx = x; if (x > maxx) maxx = x;
    if (y < miny) miny = y; if (y > maxy) maxy = y;
  }
  boxes[at * 4] = minx; boxes[at * 4 + 1] = miny; boxes[at * 4 + 2] = maxx; boxes[at * 4 + 3] = maxy;
}

/** The vertex block pyramid of world x, y pairs and per-vertex importance, on SharedArrayBuffers. */
export function vertexBlocks(world: Float64Array, vertexImportance: Float32Array): VertexBlocks {
  const vertices = vertexImportance.length;
  return pyramid(Math.ceil(vertices / BLOCK), (boxes, importance) => {
    for (let b = 0; b * BLOCK < vertices; b++) {
      const to = Math.min(vertices, (b + 1) * BLOCK);
      boxOf(world, b * BLOCK, to, boxes, b);
      for (let v = b * BLOCK; v < to; v++) if (vertexImportance[v] > importance[b]) importance[b] = vertexImportance[v];
    }
  });
}

/** The part block pyramid: level 0 is the bbox of each part (vertices partVertices[p] .. partVertices[p + 1]). */
export function partBlocks(world: Float64Array, partVertices: ArrayLike<number>): BoxPyramid {
  const parts = partVertices.length - 1;
  const { boxes, levelStart } = pyramid(parts, (boxes) => {
    for (let p = 0; p < parts; p++) boxOf(world, partVertices[p], partVertices[p + 1], boxes, p);
  });
  return { boxes, levelStart };
}
