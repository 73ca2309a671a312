// The tile latency histogram kept as plain numbers (src/monitor/latency-histogram.ts): Prometheus'
// bucket rule (a value at a bound counts in that bucket), cumulative buckets, +Inf, sum and count
// per zone, read back with the strict exposition reader.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from '../src/monitor/latency-histogram.js';
import { parsePrometheus } from './helpers/prometheus.js';

describe('LatencyHistogram', () => {
  it('counts each zone into cumulative buckets with +Inf, sum and count', () => {
    const h = new LatencyHistogram('t_seconds', 'Test latency.', [0.01, 0.1, 1], ['tiles', 'render']);
    for (const s of [0.005, 0.01, 0.05, 0.1, 0.5, 3]) h.observe('tiles', s);
    h.observe('render', 0.2);
    h.observe('identify', 0.2); // not a zone of this histogram: ignored
    const m = parsePrometheus(h.exposition());
    assert.equal(m.types.get('t_seconds'), 'histogram');
    const bucket = (zone: string, le: string) => m.value('t_seconds_bucket', { le, zone });
    assert.deepEqual(['0.01', '0.1', '1', '+Inf'].map((le) => bucket('tiles', le)), [2, 4, 5, 6]);
    assert.deepEqual(['0.01', '0.1', '1', '+Inf'].map((le) => bucket('render', le)), [0, 0, 1, 1]);
    assert.equal(m.value('t_seconds_count', { zone: 'tiles' }), 6);
    assert.ok(Math.abs(m.value('t_seconds_sum', { zone: 'tiles' })! - 3.665) < 1e-12);
    assert.equal(m.value('t_seconds_count', { zone: 'identify' }), undefined);
  });

  it('exposes every zone from the start, at zero', () => {
    const m = parsePrometheus(new LatencyHistogram('t_seconds', 'Test latency.', [1], ['tiles']).exposition());
    assert.deepEqual([m.value('t_seconds_bucket', { le: '1', zone: 'tiles' }), m.value('t_seconds_bucket', { le: '+Inf', zone: 'tiles' }),
      m.value('t_seconds_sum', { zone: 'tiles' }), m.value('t_seconds_count', { zone: 'tiles' })], [0, 0, 0, 0]);
  });
});
