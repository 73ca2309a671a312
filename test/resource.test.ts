import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

describe('resource API on the sample data', () => {
  let s: TestServer;
  before(async () => { s = await startServer(); });
  after(() => s.stop());

  it('describes a vector layer with its fields', async () => {
    const { status, body } = await s.json('/api/resource/2');
    assert.equal(status, 200);
    assert.equal(body.resource.cls, 'vector_layer');
    assert.deepEqual(body.resource.parent, { id: 1 });
    assert.equal(body.vector_layer.geometry_type, 'MULTIPOLYGON');
    assert.deepEqual(body.feature_layer.fields.map((f: any) => [f.keyname, f.datatype]),
      [['name', 'STRING'], ['code', 'STRING'], ['band', 'INTEGER']]);
  });

  it('lists the children of the root', async () => {
    const { status, body } = await s.json('/api/resource/?parent=0');
    assert.equal(status, 200);
    assert.deepEqual(body.map((r: any) => r.resource.id), [1, 8]);
  });

  it('answers 404 in the NGW error shape for an unknown id', async () => {
    const { status, body } = await s.json('/api/resource/999');
    assert.equal(status, 404);
    assert.equal(body.status_code, 404);
    assert.equal(body.code, 'RESOURCE_NOT_FOUND');
    assert.ok(body.title && body.message && body.exception);
  });
});
