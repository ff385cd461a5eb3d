/**
 * `npm run check:grpc-corpus`: real-world .proto files nobody here wrote
 * (Google's APIs, from the npm package google-proto-files) loaded as gRPC
 * sources. Each entry point must build a valid schema that also stitches;
 * a failure prints the located error. Prints the rate; exits 1 on any failure.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObjectType, type GraphQLSchema } from 'graphql';
import pino from 'pino';
import { composeSources } from '../src/compose/index.js';
import { parseDescriptor } from '../src/config/load.js';
import { loadSource } from '../src/sources/index.js';

export const CORPUS = [
  'google/pubsub/v1/pubsub.proto',
  'google/cloud/language/v1/language_service.proto',
  'google/cloud/speech/v1/cloud_speech.proto',
  'google/cloud/vision/v1/image_annotator.proto',
  'google/cloud/translate/v3/translation_service.proto',
  'google/cloud/tasks/v2/cloudtasks.proto',
  'google/firestore/v1/firestore.proto',
  'google/datastore/v1/datastore.proto',
  'google/spanner/v1/spanner.proto',
  'google/bigtable/v2/bigtable.proto',
  'google/logging/v2/logging.proto',
  'google/monitoring/v3/metric_service.proto',
  'google/cloud/kms/v1/service.proto',
  'google/cloud/secretmanager/v1/service.proto',
  'google/iam/v1/iam_policy.proto',
  'google/longrunning/operations.proto',
  'google/cloud/dialogflow/v2/session.proto',
  'google/cloud/redis/v1/cloud_redis.proto',
  'google/container/v1/cluster_service.proto',
  'google/cloud/scheduler/v1/cloudscheduler.proto',
  'google/cloud/texttospeech/v1/cloud_tts.proto',
  'google/devtools/cloudtrace/v2/tracing.proto',
  'google/cloud/bigquery/storage/v1/storage.proto',
  'google/storage/v2/storage.proto',
  'google/cloud/workflows/v1/workflows.proto',
];

export interface CorpusResult {
  entry: string;
  ok: boolean;
  detail: string;
}

function describeSchema(schema: GraphQLSchema): string {
  const count = (t: ReturnType<GraphQLSchema['getQueryType']>): number => (t ? Object.keys(t.getFields()).length : 0);
  const types = Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith('__')).length;
  return `${count(schema.getQueryType())} queries, ${count(schema.getMutationType())} mutations, ${count(schema.getSubscriptionType())} subscriptions, ${types} object types`;
}

export async function checkCorpus(entries: string[] = CORPUS): Promise<CorpusResult[]> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('google-proto-files/package.json'));
  const logger = pino({ level: 'silent' });
  const results: CorpusResult[] = [];
  for (const entry of entries) {
    const name = entry.replace(/\.proto$/, '').replace(/[^A-Za-z0-9]+/g, '_');
    try {
      const descriptor = parseDescriptor(
        { name: `g${name}`, kind: 'grpc', source: entry, includePaths: ['.'], url: 'grpc://127.0.0.1:1' },
        `${root}/corpus.subgraph.yaml`,
        root,
        {},
      );
      const source = await loadSource(descriptor, { mode: 'production', logger });
      try {
        composeSources([source]);
        results.push({ entry, ok: true, detail: describeSchema(source.schema) });
      } finally {
        await source.close();
      }
    } catch (error) {
      results.push({ entry, ok: false, detail: (error as Error).message });
    }
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await checkCorpus();
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.entry}: ${r.detail}`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`\n${passed}/${results.length} google-proto-files entry points build a valid schema (${Math.round((100 * passed) / results.length)}%)`);
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length ? 0 : 1);
}
