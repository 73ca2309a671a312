// What layer loads leave on the heap is collected once the last load under way ends, when it is
// enough to matter (src/store/load-garbage.ts).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import pino from 'pino';
import { asLoad } from '../src/store/load-garbage.js';

const MB = 2 ** 20;

type LogLine = { msg: string; freedMB?: number };

/** A logger whose lines land in `lines`. */
function capturing(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** A load that holds ~`mb` MB of small objects until it ends (as a parse does), then drops them. */
async function loadLeaving(mb: number, until: Promise<void> = Promise.resolve()): Promise<number> {
  const held: number[][] = [];
  for (let i = 0; i < mb * 12_000; i++) held.push([i, i + 1, i + 2]);
  await until;
  return held.length;
}

const collected = (lines: LogLine[]) => lines.filter((l) => l.msg === 'collected what layer loads left');
const flushLogs = () => new Promise((resolve) => setImmediate(resolve));

describe('garbage left by layer loads', () => {
  it('is collected when the last load ends, having left more than the threshold', async () => {
    const { log, lines } = capturing();
    let release!: () => void;
    const slow = asLoad(() => loadLeaving(40, new Promise((resolve) => { release = resolve; })), log, 16 * MB);
    await asLoad(() => loadLeaving(40), log, 16 * MB);
    await flushLogs();
    assert.equal(collected(lines).length, 0, 'no collection while another load is under way');
    const before = getHeapStatistics().used_heap_size;
    release();
    await slow;
    await flushLogs();
    const done = collected(lines);
    assert.equal(done.length, 1, 'one collection once both loads ended');
    assert.ok(done[0].freedMB! >= 16, `freed ${done[0].freedMB} MB`);
    assert.ok(getHeapStatistics().used_heap_size < before - 16 * MB, 'the heap shrank');
  });

  it('is left to V8 when a load leaves less than the threshold', async () => {
    const { log, lines } = capturing();
    await asLoad(() => loadLeaving(1), log, 256 * MB);
    await flushLogs();
    assert.equal(collected(lines).length, 0);
  });

  it('still counts a load that fails', async () => {
    const { log, lines } = capturing();
    await assert.rejects(asLoad(async () => { await loadLeaving(40); throw new Error('bad source'); }, log, 16 * MB), /bad source/);
    await flushLogs();
    assert.equal(collected(lines).length, 1, 'the failed load ended the loads under way');
  });
});
