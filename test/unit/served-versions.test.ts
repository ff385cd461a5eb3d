/**
 * registry/versions.ts: which schema versions are served at once during a hot
 * reload, and when a replaced version's resources (loaded sources) close:
 * once its last request is done, and only those no later version holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServedVersions, type Drained } from '../../src/registry/versions.js';

class Resource {
  closed = 0;
  constructor(readonly name: string) {}
  async close(): Promise<void> {
    this.closed++;
  }
}

interface Version {
  id: string;
}

function setup(resources: Resource[]) {
  const drained: Array<Drained<Version, Resource>> = [];
  const first = { id: 'v1' };
  const versions = new ServedVersions<Version, Resource>(first, resources, { onDrained: (d) => drained.push(d), onCloseError: () => assert.fail('no close fails') });
  return { versions, drained, first };
}

test('a replaced version with a request in flight stays until that request ends; then only the resources no later version holds close', async () => {
  const kept = new Resource('kept');
  const removed = new Resource('removed');
  const { versions, drained, first } = setup([kept, removed]);
  const request = versions.hold();
  assert.equal(request.version, first);

  const second = { id: 'v2' };
  versions.swap(second, [kept]);
  assert.equal(versions.current, second, 'new requests get the new version at once');
  assert.deepEqual(versions.live, [first, second]);
  assert.equal(drained.length, 0, 'not drained while its request is in flight');
  assert.equal(removed.closed, 0);

  request.release();
  request.release();
  assert.equal(drained.length, 1, 'drained once, whatever the number of releases');
  assert.equal(drained[0]!.version, first);
  assert.deepEqual(drained[0]!.closed.map((r) => r.name), ['removed']);
  await drained[0]!.done;
  assert.equal(removed.closed, 1);
  assert.equal(kept.closed, 0, 'a resource the new version holds stays open');
  assert.deepEqual(versions.live, [second]);
});

test('an idle replaced version drains at the swap; three versions sharing a resource close it once, with the last one', async () => {
  const shared = new Resource('shared');
  const { versions, drained } = setup([shared]);
  const held = versions.hold();
  const second = { id: 'v2' };
  versions.swap(second, [shared]);
  const third = { id: 'v3' };
  versions.swap(third, [shared]);
  assert.deepEqual(drained.map((d) => d.version.id), ['v2'], 'v2 had no request: drained at once');
  held.release();
  assert.deepEqual(drained.map((d) => d.version.id), ['v2', 'v1']);
  assert.deepEqual(drained.flatMap((d) => d.closed), [], 'the current version still holds it');
  await versions.closeAll();
  assert.equal(shared.closed, 1);
});

test('retire() ends a line (a staged rollout promoted or aborted): its version drains once its last request ends, then its resources close', async () => {
  const resource = new Resource('staged');
  const { versions, drained, first } = setup([resource]);
  const request = versions.hold();
  assert.equal(versions.retire(), first);
  assert.equal(drained.length, 0, 'not drained while its request is in flight');
  request.release();
  assert.equal(drained.length, 1);
  await drained[0]!.done;
  assert.equal(resource.closed, 1);
  versions.retire();
  assert.equal(drained.length, 1, 'a second retire does nothing');

  const idle = setup([new Resource('idle')]);
  idle.versions.retire();
  assert.equal(idle.drained.length, 1, 'an idle line drains at once');
});
