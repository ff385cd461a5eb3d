/**
 * The version that runs, as a running gateway serves it: each channel's
 * endpoint (its path in gateway.yaml, on the URL's origin) is introspected
 * over GraphQL, as any client may do where introspection is allowed, with
 * the headers given (a credential, when the channel refuses anonymous
 * callers). No admin endpoint is used, so a gateway without one can be
 * checked against.
 */
import { buildClientSchema, getIntrospectionQuery, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { request } from 'undici';
import type { ResolvedChannel } from '../config/channel.js';
import { ConfigError } from '../errors.js';
import type { CurrentVersion, ServedSchemas } from './current.js';

/** Longest wait for one channel's introspection answer, and the largest answer read. */
export const INTROSPECTION_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 50 * 1024 * 1024;

const QUERY = JSON.stringify({ query: getIntrospectionQuery({ descriptions: true }), operationName: 'IntrospectionQuery' });

type Answer = { schema: GraphQLSchema } | { notServed: string } | { refused: string } | { unreachable: string };

async function introspect(url: string, headers: Record<string, string>): Promise<Answer> {
  let response;
  try {
    response = await request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: QUERY,
      signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
      headersTimeout: INTROSPECTION_TIMEOUT_MS,
      bodyTimeout: INTROSPECTION_TIMEOUT_MS,
    });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const detail = (error as Error).name === 'TimeoutError' ? `no answer within ${INTROSPECTION_TIMEOUT_MS / 1000} s` : code ? `${code} (${message})` : message;
    return { unreachable: detail };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      response.body.destroy();
      return { refused: `answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB; is this a Tessera gateway?` };
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (response.statusCode === 404) return { notServed: 'HTTP 404' };
  if (response.statusCode === 401 || response.statusCode === 403) {
    return { refused: `HTTP ${response.statusCode}: the channel refuses this caller; pass the credential one of its clients uses, e.g. --header 'authorization: Bearer …'` };
  }
  let payload: { data?: IntrospectionQuery | null; errors?: Array<{ message?: unknown }> } | undefined;
  try {
    payload = JSON.parse(text) as typeof payload;
  } catch {
    return { refused: `HTTP ${response.statusCode}, not a GraphQL answer (not JSON); is this the gateway's URL?` };
  }
  if (payload?.data?.__schema) {
    try {
      return { schema: buildClientSchema(payload.data) };
    } catch (error) {
      return { refused: `its introspection answer is not a valid schema: ${(error as Error).message}` };
    }
  }
  const errors = (payload?.errors ?? []).map((e) => String(e.message)).join('; ');
  return { refused: `introspection refused (HTTP ${response.statusCode}${errors ? `: ${errors}` : ''})` };
}

/** What to do when introspection is refused, once for every channel. */
const REFUSED_HELP =
  'To compare with what runs, either let your CI introspect it (`channels.<name>.introspection: true` in gateway.yaml on a channel your CI reaches, with `anonymous: false` so it takes the credential you pass with --header), or compare with the snapshots of the revision that runs: `git worktree add ../running <deployed revision>` then `--against ../running/schema`.';

/** A running gateway at `base` (any URL on its origin: `http://gateway:4000`, or its /graphql), with headers sent on every request. */
export function gatewayVersion(base: URL, headers: Record<string, string> = {}): CurrentVersion {
  return {
    async read(channels: readonly ResolvedChannel[]) {
      const served: ServedSchemas = { description: `${base.origin} (running gateway)`, kind: 'gateway', location: base.href, channels: new Map(), notes: [] };
      const answers = await Promise.all(channels.map(async (channel) => ({ channel, url: new URL(channel.path, base).href, answer: await introspect(new URL(channel.path, base).href, headers) })));
      const unreachable = answers.filter((a) => 'unreachable' in a.answer);
      if (unreachable.length > 0) {
        throw new ConfigError(
          'CHECK_AGAINST_UNAVAILABLE',
          unreachable.map(
            ({ channel, url, answer }) =>
              `--against ${base.href}: channel ${channel.name} at ${url}: ${(answer as { unreachable: string }).unreachable}; check the gateway's URL and that it runs, or compare with a snapshot folder (--against schema/)`,
          ),
        );
      }
      const refused = answers.filter((a) => 'refused' in a.answer);
      if (refused.length > 0) {
        throw new ConfigError('CHECK_AGAINST_UNAVAILABLE', [
          ...refused.map(({ channel, url, answer }) => `--against ${base.href}: channel ${channel.name} at ${url}: ${(answer as { refused: string }).refused}`),
          ...(refused.some(({ answer }) => (answer as { refused: string }).refused.startsWith('introspection refused')) ? [REFUSED_HELP] : []),
        ]);
      }
      for (const { channel, url, answer } of answers) {
        if ('schema' in answer) served.channels.set(channel.name, answer.schema);
        else if ('notServed' in answer) served.notes.push(`channel ${channel.name}: not served at ${url} (${answer.notServed}; a new channel?), so it is not compared`);
      }
      // The unified graph is what a channel that hides nothing serves (the default one, unless it hides something).
      const whole = channels.find((c) => c.hide.length === 0 && served.channels.has(c.name));
      if (whole) served.unified = served.channels.get(whole.name);
      else served.notes.push('unified graph: every channel hides something, so the running gateway serves it nowhere; it is compared channel by channel only');
      return served;
    },
  };
}
