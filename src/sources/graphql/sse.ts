/**
 * Server-sent events as the GraphQL-over-SSE "distinct connections" mode
 * sends them: `event: next` with one JSON execution result per `data:`, then
 * `event: complete`. An event without a name counts as `next` (older
 * servers). One event may not exceed `maxEventSize` bytes.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export async function* parseSse(chunks: AsyncIterable<Buffer>, maxEventSize: number): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    buffer = buffer.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
    if (buffer.length > maxEventSize) throw new Error(`an event is larger than ${maxEventSize} bytes`);
  }
  const last = parseBlock(buffer);
  if (last) yield last;
}

function parseBlock(block: string): SseEvent | undefined {
  let event = '';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!event && data.length === 0) return undefined;
  return { event: event || 'next', data: data.join('\n') };
}
