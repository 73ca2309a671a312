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

  it('lists the children of the root, by display_name as NGW', async () => {
    const { status, body } = await s.json('/api/resource/?parent=0');
    assert.equal(status, 200);
    assert.deepEqual(body.map((r: any) => r.resource.display_name), ['Places', 'World (Natural Earth 1:110m)']);
  });

  it('searches the tree by NGW\'s attribute filters, ordered by name (/api/resource/search/)', async () => {
    const ids = async (query: string) => {
      const { status, body } = await s.json(`/api/resource/search/?${query}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body.map((r: any) => r.resource.id);
    };
    assert.deepEqual(await ids('cls=vector_layer'), [11, 2, 6, 9]);
    assert.deepEqual(await ids('keyname=countries'), [2]);
    assert.deepEqual(await ids('keyname__in=sites,capitals'), [11, 9]);
    assert.deepEqual(await ids('id__in=4,3&parent=2'), [4, 3]);
    assert.deepEqual(await ids('display_name__like=Countries%25&cls__eq=qgis_vector_style'), [5, 4, 3]);
    assert.deepEqual(await ids('root=8&cls__ilike=VECTOR%25'), [11, 9]);
    assert.deepEqual(await ids('root=999'), []);
    // Every resource is the administrator's (the owner_user its JSON names), none another user's.
    const administrator = (await s.json('/api/resource/2')).body.resource.owner_user.id;
    assert.equal(administrator, s.services.auth.policy.system.administrator);
    assert.deepEqual(await ids(`owner_user__id=${administrator}&cls=vector_layer`), [11, 2, 6, 9]);
    assert.deepEqual(await ids(`owner_user__id=${s.services.auth.policy.system.guest}`), []);
    // Only the resource block, unless serialization=full asks for the whole JSON.
    const brief = (await s.json('/api/resource/search/?id=2')).body;
    assert.deepEqual(Object.keys(brief[0]), ['resource']);
    assert.deepEqual((await s.json('/api/resource/search/?id=2&serialization=full')).body, [(await s.json('/api/resource/2')).body]);
  });

  it('refuses a search filter it does not know, rather than ignoring it', async () => {
    for (const query of ['owner_user__id=x', 'keyname__like=c%25', 'id=x', 'serialization=all', 'root=-1', 'display_name__', 'cls__in__eq=a']) {
      const { status, body } = await s.json(`/api/resource/search/?${query}`);
      assert.deepEqual([status, body.code], [400, 'INVALID_PARAMETER'], query);
    }
    // The refusal of an unknown name lists every parameter the search takes.
    const { body } = await s.json('/api/resource/search/?colour=red');
    for (const known of ['id', 'cls', 'parent_id', 'keyname', 'display_name', 'owner_user__id', 'root', 'parent_id__recursive', 'serialization']) {
      assert.match(body.message, new RegExp(`\\b${known}\\b`), known);
    }
  });

  it('answers 404 in the NGW error shape for an unknown id', async () => {
    const { status, body } = await s.json('/api/resource/999');
    assert.equal(status, 404);
    assert.equal(body.status_code, 404);
    assert.equal(body.code, 'RESOURCE_NOT_FOUND');
    assert.ok(body.title && body.message && body.exception);
  });
});
