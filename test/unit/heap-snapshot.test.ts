/**
 * bench/lib/heap-snapshot.ts, the reader bench/heap-live.ts summarises heap
 * snapshots with: retained sizes from the dominator tree (an object held on
 * two paths is retained by neither, weak edges retain nothing), constructors
 * counted once when nested, and loaded sources by package. On a snapshot
 * written here in V8's format, small enough to check by hand.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { byType, dominators, loadedSources, readHeapGraph } from '../../bench/lib/heap-snapshot.js';

const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

interface Node {
  type: string;
  name: string;
  size: number;
  edges: Array<[type: string, name: string, to: number]>;
}

/** A .heapsnapshot file of `nodes` (node 0 is the root), as V8 writes one. */
function snapshotFile(nodes: Node[]): string {
  const strings: string[] = [];
  const str = (s: string): number => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1);
  const flatNodes = nodes.flatMap((n, id) => [NODE_TYPES.indexOf(n.type), str(n.name), id + 1, n.size, n.edges.length, 0, 0]);
  const flatEdges = nodes.flatMap((n) => n.edges.flatMap(([type, name, to]) => [EDGE_TYPES.indexOf(type), str(name), to * 7]));
  const dir = mkdtempSync(join(tmpdir(), 'tessera-heap-test-'));
  const file = join(dir, 'test.heapsnapshot');
  writeFileSync(
    file,
    JSON.stringify({
      snapshot: {
        meta: {
          node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
          node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
          edge_fields: ['type', 'name_or_index', 'to_node'],
          edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
        },
      },
      nodes: flatNodes,
      edges: flatEdges,
      strings,
    }),
  );
  return file;
}

test('retained sizes: an object reached on two paths is retained by neither, a weak edge retains nothing', (t) => {
  // root -> Gateway(10) -> Schema(100) -> Type(1000); root -> Cache(20) -> Type; Gateway -weak-> Orphan(5), only reached weakly.
  const file = snapshotFile([
    { type: 'synthetic', name: '', size: 0, edges: [['element', '1', 1], ['element', '2', 2]] },
    { type: 'object', name: 'Gateway', size: 10, edges: [['property', 'schema', 3], ['weak', 'later', 5]] },
    { type: 'object', name: 'Cache', size: 20, edges: [['property', 'entry', 4]] },
    { type: 'object', name: 'Schema', size: 100, edges: [['property', 'type', 4]] },
    { type: 'object', name: 'Type', size: 1000, edges: [] },
    { type: 'object', name: 'Orphan', size: 5, edges: [] },
  ]);
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  const graph = readHeapGraph(file);
  const doms = dominators(graph);
  assert.deepEqual([...doms.retained], [1130, 110, 20, 100, 1000, 0]);
  assert.equal(doms.idom[4], 0, 'Type is held on two paths: only the root dominates it');
  assert.equal(doms.idom[5], -1, 'Orphan is reached only by a weak edge');
});

test('by constructor: nested instances counted once, closures and strings by kind; sources by package', (t) => {
  const file = snapshotFile([
    { type: 'synthetic', name: '', size: 0, edges: [['element', '1', 1], ['element', '2', 2]] },
    { type: 'object', name: 'Node', size: 10, edges: [['property', 'child', 3]] },
    { type: 'code', name: 'file:///app/node_modules/@scope/pkg/lib/a.js', size: 50, edges: [['internal', 'source', 4]] },
    { type: 'object', name: 'Node', size: 10, edges: [['property', 'fn', 5]] },
    { type: 'string', name: 'source text', size: 300, edges: [] },
    { type: 'closure', name: 'handler', size: 40, edges: [] },
  ]);
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  const graph = readHeapGraph(file);
  const totals = byType(graph, dominators(graph));
  const node = totals.find((x) => x.label === 'Node')!;
  assert.deepEqual({ count: node.count, self: node.selfBytes, retained: node.retainedBytes }, { count: 2, self: 20, retained: 60 });
  assert.equal(totals.find((x) => x.label === 'handler()')?.retainedBytes, 40);
  assert.equal(totals.find((x) => x.label === '(string)')?.retainedBytes, 300);
  assert.deepEqual(loadedSources(graph), [{ from: '@scope/pkg', scripts: 1, bytes: 300 }]);
});
