/**
 * The catalog demo (subgraphs/catalog, a real REST service) through the
 * OpenAPI source, alone and stitched with the reviews GraphQL service:
 * bulk joins, links, descriptor joins, connections, uploads, and the number
 * of REST calls each query costs.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadDescriptorFile } from '../../src/config/load.js';
import { loadSource, type LoadedSource } from '../../src/sources/index.js';
import type { DemoService } from '../../subgraphs/lib/serve.js';
import { start as startCatalog } from '../../subgraphs/catalog/server.js';
import { start as startReviews } from '../../subgraphs/reviews/server.js';
import { watchServer, type UpstreamWatch } from '../kit/openapi-declared.js';
import { plain, run } from '../kit/openapi.js';

const logger = pino({ level: 'silent' });

describe('catalog demo through the OpenAPI source', () => {
  let catalog: DemoService;
  let reviews: DemoService;
  let catalogSource: LoadedSource;
  let reviewsSource: LoadedSource;
  let declared: UpstreamWatch;

  before(async () => {
    catalog = await startCatalog(0);
    reviews = await startReviews(0);
    const env = { ...process.env, CATALOG_PORT: String(catalog.port), REVIEWS_PORT: String(reviews.port) };
    const catalogDescriptor = loadDescriptorFile('subgraphs/catalog/subgraph.yaml', env);
    catalogSource = await loadSource(catalogDescriptor, { mode: 'development', logger });
    declared = await watchServer(catalog, catalogDescriptor);
    reviewsSource = await loadSource(loadDescriptorFile('subgraphs/reviews/subgraph.yaml', env), { mode: 'development', logger });
  });
  afterEach(() => declared.assertDeclared());
  after(async () => {
    await catalogSource.close();
    await reviewsSource.close();
    await catalog.close();
    await reviews.close();
  });

  const callsDuring = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const before = catalog.stats.requests;
    const result = await fn();
    return [result, catalog.stats.requests - before];
  };

  test('50 products joined from reviews cost one bulk REST call, in the order reviews asked for them', async () => {
    const [result, calls] = await callsDuring(async () =>
      plain(await run([reviewsSource, catalogSource], '{ topProducts(first: 50) { id averageRating name skuCode } }')),
    );
    assert.equal(result.errors, undefined);
    const products = result.data.topProducts as Array<{ id: string; name: string; skuCode: string }>;
    assert.equal(products.length, 50);
    for (const p of products) {
      const n = Number(p.id.slice(1));
      assert.equal(p.skuCode, `SKU-${String(n).padStart(4, '0')}`, `${p.id} got its own product`);
      assert.ok(p.name.length > 0);
    }
    assert.equal(calls, 1);
  });

  test('a descriptor join with a batch endpoint: 50 products and their categories in two REST calls', async () => {
    const [result, calls] = await callsDuring(async () => plain(await run(catalogSource, '{ listProducts(limit: 50) { items { id category { id name } } } }')));
    const items = result.data.listProducts.items as Array<{ id: string; category: { id: string; name: string } }>;
    assert.equal(items.length, 50);
    assert.deepEqual(items[0], { id: 'p1', category: { id: 'c1', name: 'Home' } });
    assert.deepEqual(items[49], { id: 'p50', category: { id: 'c2', name: 'Furniture' } });
    assert.equal(calls, 2);
  });

  test('an OpenAPI link becomes a nested field', async () => {
    const result = plain(await run(catalogSource, '{ getProduct(id: "p3") { name price { amount currency validFrom } } }'));
    assert.deepEqual(result.data, { getProduct: { name: 'Deluxe Kettle', price: { amount: 16.99, currency: 'USD', validFrom: '2025-01-01T00:00:00Z' } } });
  });

  test('an offset/limit list as a Relay connection: first/after walk the pages', async () => {
    const query = 'query($after: String) { listProductsConnection(first: 25, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }';
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const result = plain(await run(catalogSource, query, { variables: { after } }));
      const conn = result.data.listProductsConnection;
      seen.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
      pages++;
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => `p${i + 1}`));
  });

  test('a Link-header list as a connection: one answer spans upstream pages', async () => {
    const [result, calls] = await callsDuring(async () =>
      plain(await run(catalogSource, '{ searchProductsConnection(q: "bestseller", first: 12) { nodes { id } pageInfo { hasNextPage endCursor } } }')),
    );
    const conn = result.data.searchProductsConnection;
    assert.deepEqual(
      conn.nodes.map((n: { id: string }) => n.id),
      Array.from({ length: 12 }, (_, i) => `p${(i + 1) * 2}`),
    );
    assert.equal(conn.pageInfo.hasNextPage, true);
    assert.equal(calls, 3, 'pages of 5 (maxPageSize), followed through the Link header');
    const next = plain(await run(catalogSource, 'query($a: String) { searchProductsConnection(q: "bestseller", first: 100, after: $a) { nodes { id } pageInfo { hasNextPage } } }', { variables: { a: conn.pageInfo.endCursor } }));
    assert.deepEqual(
      next.data.searchProductsConnection.nodes.map((n: { id: string }) => n.id),
      Array.from({ length: 18 }, (_, i) => `p${(i + 13) * 2}`),
    );
    assert.equal(next.data.searchProductsConnection.pageInfo.hasNextPage, false);
  });

  test('a file upload and the binary response that serves it back', async () => {
    const bytes = Buffer.from('\x89PNG fake image bytes');
    const file = new File([bytes], 'shot.png', { type: 'image/png' });
    const result = plain(
      await run(catalogSource, 'mutation($f: Upload!) { uploadProductImage(id: "p7", input: { file: $f, caption: "front" }) { productId filename size caption contentType } }', {
        variables: { f: file },
      }),
    );
    assert.deepEqual(result.data.uploadProductImage, { productId: 'p7', filename: 'shot.png', size: bytes.length, caption: 'front', contentType: 'image/png' });
    const image = plain(await run(catalogSource, '{ getProductImage(id: "p7") }'));
    assert.equal(Buffer.from(image.data.getProductImage as string, 'base64').toString('latin1'), bytes.toString('latin1'));
  });

  test('an unknown product is null with SOURCE_HTTP_ERROR 404, next to data that resolved', async () => {
    const result = plain(await run(catalogSource, '{ a: getProduct(id: "nope") { id } b: getProduct(id: "p1") { id } }'));
    assert.deepEqual(result.data, { a: null, b: { id: 'p1' } });
    assert.equal(result.errors![0].extensions.code, 'SOURCE_HTTP_ERROR');
    assert.equal(result.errors![0].extensions.upstream.status, 404);
  });
});
