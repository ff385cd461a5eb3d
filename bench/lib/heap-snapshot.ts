/**
 * Reads a V8 .heapsnapshot (Chrome DevTools' format) and says what holds the
 * memory: objects summed by constructor with their retained size (what
 * would be freed without them, from the dominator tree, as DevTools' Memory
 * tab computes it), and the loaded modules' source texts by package. Used by
 * bench/heap-live.ts (the live heap of each scenario's gateway).
 *
 * Retained sizes follow DevTools: weak edges do not retain; the dominator of
 * an object is the one object every path from the GC roots to it goes
 * through (Cooper, Harvey and Kennedy's iterative algorithm over a depth-first
 * post-order).
 */
import { readFileSync } from 'node:fs';

export interface HeapGraph {
  count: number;
  /** Per node: the label (constructor name, closure name, V8 type), its self size, the first edge and the edge count. */
  label(node: number): string;
  /** The node's own name in the snapshot (a script's URL for code, a string's text). */
  name(node: number): string;
  selfSize: Float64Array;
  firstEdge: Uint32Array;
  /** Per edge: the target node, its type and its name (a property name, an index). */
  edgeTo: Uint32Array;
  edgeType: Uint8Array;
  edgeName(edge: number): string;
  /** The index of the 'weak' edge type (weak edges do not retain). */
  weakType: number;
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The key objects are summed by: objects by constructor, closures by function name, every other node by its V8 type. */
function labelOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name;
  if (type === 'closure') return `${name || '(anonymous)'}()`;
  if (type === 'array' || type === 'hidden') return `(${type}) ${name}`;
  if (type === 'synthetic') return name;
  return `(${type})`;
}

export function readHeapGraph(file: string): HeapGraph {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nodeWidth = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const at = { type: meta.node_fields.indexOf('type'), name: meta.node_fields.indexOf('name'), size: meta.node_fields.indexOf('self_size'), edges: meta.node_fields.indexOf('edge_count') };
  const eat = { type: meta.edge_fields.indexOf('type'), name: meta.edge_fields.indexOf('name_or_index'), to: meta.edge_fields.indexOf('to_node') };
  const count = raw.nodes.length / nodeWidth;
  const edgeCount = raw.edges.length / edgeWidth;
  const selfSize = new Float64Array(count);
  const firstEdge = new Uint32Array(count + 1);
  const typeOf = new Uint8Array(count);
  const nameOf = new Uint32Array(count);
  let edge = 0;
  for (let n = 0; n < count; n++) {
    const base = n * nodeWidth;
    typeOf[n] = raw.nodes[base + at.type]!;
    nameOf[n] = raw.nodes[base + at.name]!;
    selfSize[n] = raw.nodes[base + at.size]!;
    firstEdge[n] = edge;
    edge += raw.nodes[base + at.edges]!;
  }
  firstEdge[count] = edge;
  const edgeTo = new Uint32Array(edgeCount);
  const edgeType = new Uint8Array(edgeCount);
  const edgeNameRaw = new Uint32Array(edgeCount);
  for (let e = 0; e < edgeCount; e++) {
    const base = e * edgeWidth;
    edgeType[e] = raw.edges[base + eat.type]!;
    edgeNameRaw[e] = raw.edges[base + eat.name]!;
    edgeTo[e] = raw.edges[base + eat.to]! / nodeWidth;
  }
  const strings = raw.strings;
  const indexed = new Set(['element', 'hidden'].map((t) => edgeTypes.indexOf(t)));
  return {
    count,
    selfSize,
    firstEdge,
    edgeTo,
    edgeType,
    weakType: edgeTypes.indexOf('weak'),
    label: (n) => labelOf(nodeTypes[typeOf[n]!]!, strings[nameOf[n]!]!),
    name: (n) => strings[nameOf[n]!]!,
    edgeName: (e) => (indexed.has(edgeType[e]!) ? `[${edgeNameRaw[e]}]` : strings[edgeNameRaw[e]!]!),
  };
}

export interface Dominators {
  /** Immediate dominator per node (the root's is itself); unreachable nodes: -1. */
  idom: Int32Array;
  retained: Float64Array;
  /** Nodes reachable from the root, in depth-first post-order (the root last). */
  postOrder: Uint32Array;
}

/** Immediate dominators and retained sizes from node 0 (the snapshot's root), weak edges left out. */
export function dominators(graph: HeapGraph): Dominators {
  const { count, firstEdge, edgeTo, edgeType, weakType } = graph;
  const order = new Int32Array(count).fill(-1); // post-order number
  const postOrder = new Uint32Array(count);
  let reached = 0;
  // Iterative depth-first search: a stack of nodes and the next edge of each.
  const stackNode = new Uint32Array(count);
  const stackEdge = new Uint32Array(count);
  const visited = new Uint8Array(count);
  let depth = 0;
  stackNode[0] = 0;
  stackEdge[0] = firstEdge[0]!;
  visited[0] = 1;
  while (depth >= 0) {
    const node = stackNode[depth]!;
    const e = stackEdge[depth]!;
    if (e < firstEdge[node + 1]!) {
      stackEdge[depth] = e + 1;
      if (edgeType[e] === weakType) continue;
      const to = edgeTo[e]!;
      if (visited[to]) continue;
      visited[to] = 1;
      depth++;
      stackNode[depth] = to;
      stackEdge[depth] = firstEdge[to]!;
    } else {
      order[node] = reached;
      postOrder[reached++] = node;
      depth--;
    }
  }
  // Predecessors of each reachable node (non-weak edges from reachable nodes), in post-order numbering.
  const predCount = new Uint32Array(reached + 1);
  for (let n = 0; n < count; n++) {
    if (order[n]! < 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (edgeType[e] !== weakType) predCount[order[edgeTo[e]!]! + 1]!++;
  }
  for (let i = 0; i < reached; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[reached]!);
  const fill = predCount.slice(0, reached);
  for (let n = 0; n < count; n++) {
    const from = order[n]!;
    if (from < 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (edgeType[e] !== weakType) preds[fill[order[edgeTo[e]!]!]!++] = from;
  }
  // Cooper, Harvey, Kennedy: dominators by post-order number, the root is reached - 1.
  const root = reached - 1;
  const dom = new Int32Array(reached).fill(-1);
  dom[root] = root;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a < b) a = dom[a]!;
      while (b < a) b = dom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let v = root - 1; v >= 0; v--) {
      let next = -1;
      for (let p = predCount[v]!; p < predCount[v + 1]!; p++) {
        const u = preds[p]!;
        if (dom[u] === -1) continue;
        next = next === -1 ? u : intersect(u, next);
      }
      if (next !== -1 && dom[v] !== next) {
        dom[v] = next;
        changed = true;
      }
    }
  }
  const idom = new Int32Array(count).fill(-1);
  const retained = new Float64Array(count);
  for (let v = 0; v < reached; v++) {
    const node = postOrder[v]!;
    idom[node] = postOrder[dom[v]!]!;
    retained[node] = graph.selfSize[node]!;
  }
  // A dominator comes after every node it dominates in post-order: sum upwards in one pass.
  for (let v = 0; v < root; v++) {
    const node = postOrder[v]!;
    const holder = idom[node]!;
    retained[holder] = retained[holder]! + retained[node]!;
  }
  return { idom, retained, postOrder: postOrder.slice(0, reached) };
}

export interface TypeTotal {
  label: string;
  count: number;
  selfBytes: number;
  /** Retained by the instances not held by another instance of the same label (DevTools' "retained size" of a constructor). */
  retainedBytes: number;
}

/** Every reachable node summed by label; retained bytes counted once per label (an instance inside another instance of its label adds nothing). */
export function byType(graph: HeapGraph, doms: Dominators): TypeTotal[] {
  const totals = new Map<string, TypeTotal>();
  const labelIds = new Map<string, number>();
  const labelOfNode = new Uint32Array(graph.count);
  for (const node of doms.postOrder) {
    const label = graph.label(node);
    let id = labelIds.get(label);
    if (id === undefined) {
      id = labelIds.size;
      labelIds.set(label, id);
      totals.set(label, { label, count: 0, selfBytes: 0, retainedBytes: 0 });
    }
    labelOfNode[node] = id;
    const total = totals.get(label)!;
    total.count++;
    total.selfBytes += graph.selfSize[node]!;
  }
  // Walk the dominator tree from the root, counting for each label how many of its instances are above.
  const children = dominatorChildren(graph.count, doms);
  const inside = new Uint32Array(labelIds.size);
  const list = [...totals.values()];
  const stack: Array<{ node: number; next: number }> = [{ node: 0, next: children.first[0]! }];
  inside[labelOfNode[0]!]!++;
  list[labelOfNode[0]!]!.retainedBytes += doms.retained[0]!;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.next < children.first[top.node + 1]!) {
      const child = children.list[top.next++]!;
      const id = labelOfNode[child]!;
      if (inside[id] === 0) list[id]!.retainedBytes += doms.retained[child]!;
      inside[id]!++;
      stack.push({ node: child, next: children.first[child]! });
    } else {
      inside[labelOfNode[top.node]!]!--;
      stack.pop();
    }
  }
  return list.sort((a, b) => b.retainedBytes - a.retainedBytes);
}

function dominatorChildren(count: number, doms: Dominators): { first: Uint32Array; list: Uint32Array } {
  const first = new Uint32Array(count + 1);
  for (const node of doms.postOrder) if (node !== 0) first[doms.idom[node]! + 1]!++;
  for (let i = 0; i < count; i++) first[i + 1]! += first[i]!;
  const fill = first.slice(0, count);
  const list = new Uint32Array(first[count]!);
  for (const node of doms.postOrder) if (node !== 0) list[fill[doms.idom[node]!]!++] = node;
  return { first, list };
}

/**
 * The JavaScript source texts V8 keeps (every loaded module's, for lazy
 * compilation and Function.prototype.toString), summed by package: a module
 * that is loaded costs its source and its compiled code for the process's life.
 */
export function loadedSources(graph: HeapGraph): Array<{ from: string; scripts: number; bytes: number }> {
  const totals = new Map<string, { from: string; scripts: number; bytes: number }>();
  for (let n = 0; n < graph.count; n++) {
    if (graph.label(n) !== '(code)') continue;
    for (let e = graph.firstEdge[n]!; e < graph.firstEdge[n + 1]!; e++) {
      if (graph.edgeName(e) !== 'source' || graph.label(graph.edgeTo[e]!) !== '(string)') continue;
      const url = graph.name(n);
      const from = url.includes('node_modules/') ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1') : url.replace(/^.*\/((src|bench)\/[^/]+).*$/, '$1') || '(no name)';
      const total = totals.get(from) ?? totals.set(from, { from, scripts: 0, bytes: 0 }).get(from)!;
      total.scripts++;
      total.bytes += graph.selfSize[graph.edgeTo[e]!]!;
    }
  }
  return [...totals.values()].sort((a, b) => b.bytes - a.bytes);
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);

/** The two tables as Markdown: types by retained size, then the loaded modules' source texts by package. */
export function heapReport(file: string, { types = 30, sourcesShown = 25 } = {}): string {
  const graph = readHeapGraph(file);
  const doms = dominators(graph);
  let total = 0;
  for (const node of doms.postOrder) total += graph.selfSize[node]!;
  const lines = [`${doms.postOrder.length.toLocaleString('en')} reachable objects, ${mb(total)} MB`, '', '| constructor / type | count | self MB | retained MB |', '|---|---:|---:|---:|'];
  for (const t of byType(graph, doms).slice(1, types + 1)) lines.push(`| \`${t.label.replace(/\|/g, '\\|').slice(0, 80)}\` | ${t.count} | ${mb(t.selfBytes)} | ${mb(t.retainedBytes)} |`);
  const sources = loadedSources(graph);
  const sourceBytes = sources.reduce((sum, s) => sum + s.bytes, 0);
  lines.push('', `Source texts of loaded modules: ${mb(sourceBytes)} MB in ${sources.reduce((sum, s) => sum + s.scripts, 0)} scripts; by package:`, '', '| package or folder | scripts | source MB |', '|---|---:|---:|');
  for (const s of sources.slice(0, sourcesShown)) lines.push(`| ${s.from} | ${s.scripts} | ${mb(s.bytes)} |`);
  return lines.join('\n');
}
