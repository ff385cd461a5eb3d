/**
 * A minimal authoritative DNS server over UDP on 127.0.0.1:0, for discovery
 * tests (src/transport/discovery.ts): it answers A, AAAA and SRV questions
 * from records the test sets and changes while the gateway runs, NXDOMAIN
 * for names it does not know, and SERVFAIL while `failing` is set. The
 * gateway is pointed at it with the descriptor's `discovery.servers`.
 * RFC 1035 (message format) and RFC 2782 (SRV); no compression other than
 * the answers pointing at the question's name, no EDNS, TTL 0.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { TestContext } from 'node:test';

export interface DnsRecords {
  a?: string[];
  aaaa?: string[];
  srv?: Array<{ target: string; port: number; priority?: number; weight?: number }>;
}

export interface TestDns {
  /** `127.0.0.1:PORT`, for `discovery.servers`. */
  server: string;
  /** Sets (or with undefined removes) the records of `name`; the next question sees them. */
  set(name: string, records: DnsRecords | undefined): void;
  /** Answer every question with SERVFAIL (a resolver in trouble) while true. */
  failing: boolean;
  /** Questions received, by `TYPE name` (`A svc.test`). */
  readonly questions: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, 'A' | 'AAAA' | 'SRV'> = { 1: 'A', 28: 'AAAA', 33: 'SRV' };

const normal = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** A name as DNS labels, ending with the root's empty label. */
function encodeName(name: string): Buffer {
  const parts = normal(name).split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])), Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const front = groups(head);
  const back = groups(tail);
  const all = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function rdata(type: 'A' | 'AAAA' | 'SRV', records: DnsRecords): Buffer[] {
  if (type === 'A') return (records.a ?? []).map((a) => Buffer.from(a.split('.').map(Number)));
  if (type === 'AAAA') return (records.aaaa ?? []).map(ipv6Bytes);
  return (records.srv ?? []).map((r) => {
    const head = Buffer.alloc(6);
    head.writeUInt16BE(r.priority ?? 10, 0);
    head.writeUInt16BE(r.weight ?? 10, 2);
    head.writeUInt16BE(r.port, 4);
    return Buffer.concat([head, encodeName(r.target)]);
  });
}

/** The question of a query: its name, type, and where it ends. */
function question(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let at = 12;
  while (query[at]! !== 0) {
    const length = query[at]!;
    labels.push(query.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
  return { name: labels.join('.'), type: query.readUInt16BE(at + 1), end: at + 5 };
}

export async function startDns(t: TestContext | undefined): Promise<TestDns> {
  const zone = new Map<string, DnsRecords>();
  const questions: string[] = [];
  const socket = createSocket('udp4');
  const dns: TestDns = {
    server: '',
    failing: false,
    questions,
    set: (name, records) => {
      if (records) zone.set(normal(name), records);
      else zone.delete(normal(name));
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  const answer = (query: Buffer, from: RemoteInfo): void => {
    const q = question(query);
    const type = TYPES[q.type];
    questions.push(`${type ?? q.type} ${normal(q.name)}`);
    const records = zone.get(normal(q.name));
    const rcode = dns.failing ? 2 : records ? 0 : 3;
    const answers = !dns.failing && records && type ? rdata(type, records) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, AA, the query's RD, RA; the response code.
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((data) => {
      const rr = Buffer.alloc(12);
      // A pointer to the question's name (offset 12).
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(q.type, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(0, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    socket.send(Buffer.concat([header, query.subarray(12, q.end), ...rrs]), from.port, from.address);
  };
  socket.on('message', (query, from) => {
    try {
      answer(query, from);
    } catch {
      // A malformed query gets no answer, as from a real server under load.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  dns.server = `127.0.0.1:${socket.address().port}`;
  t?.after(() => dns.close());
  return dns;
}
