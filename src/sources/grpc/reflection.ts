/**
 * Service definitions from the upstream's gRPC server reflection
 * (grpc.reflection.v1, or v1alpha for older servers): list the services, ask
 * for the file that defines each, and for any import the server did not send
 * along; then build a protobufjs Root from the FileDescriptorProtos. Well-known
 * types the server leaves out come from the copies protobufjs ships.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor.js';
import type { GrpcUpstream } from '../../transport/grpc.js';
import { sleep } from '../../transport/retry.js';
import { PARSE_OPTIONS, protobufMessage } from './protos.js';

const REFLECTION_PROTO = `
syntax = "proto3";
package reflection;
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}
message ServerReflectionResponse {
  string valid_host = 1;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;

const messages = protobuf.parse(REFLECTION_PROTO, PARSE_OPTIONS).root;
const Request = messages.lookupType('reflection.ServerReflectionRequest');
const Response = messages.lookupType('reflection.ServerReflectionResponse');
const FileDescriptorProto = descriptorExt.FileDescriptorProto;

interface ReflectionRequest {
  file_by_filename?: string;
  file_containing_symbol?: string;
  list_services?: string;
}

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Uint8Array[] };
  list_services_response?: { service: Array<{ name: string }> };
  error_response?: { error_code: number; error_message: string };
}

interface FileProto {
  name: string;
  dependency?: string[];
}

const PATHS = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'];

/** One conversation on one reflection stream: requests are answered in order. */
class Conversation {
  private readonly waiting: Array<{ resolve(r: ReflectionResponse): void; reject(e: Error): void }> = [];
  private failure: Error | undefined;

  constructor(private readonly stream: grpc.ClientDuplexStream<ReflectionRequest, ReflectionResponse>) {
    stream.on('data', (response: ReflectionResponse) => this.waiting.shift()?.resolve(response));
    stream.on('error', (error: Error) => this.fail(error));
    stream.on('end', () => this.fail(new Error('the reflection stream ended early')));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  ask(request: ReflectionRequest): Promise<ReflectionResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.stream.write(request);
    });
  }

  close(): void {
    this.stream.end();
    this.stream.cancel();
  }
}

async function filesVia(upstream: GrpcUpstream, path: string, timeoutMs: number, services: string[] | undefined): Promise<Map<string, Uint8Array>> {
  const stream = await upstream.duplex<ReflectionRequest, ReflectionResponse>(
    path,
    (r) => Request.encode(r).finish() as Buffer,
    (b) => Response.toObject(Response.decode(b), { defaults: false, arrays: true }) as ReflectionResponse,
    timeoutMs,
  );
  const talk = new Conversation(stream);
  try {
    const files = new Map<string, Uint8Array>();
    const addFiles = (response: ReflectionResponse, asked: string): void => {
      if (response.error_response) {
        throw Object.assign(new Error(`reflection cannot find ${asked}: ${response.error_response.error_message}`), { final: true });
      }
      for (const bytes of response.file_descriptor_response?.file_descriptor_proto ?? []) {
        const file = FileDescriptorProto.decode(bytes) as unknown as FileProto;
        if (!files.has(file.name)) files.set(file.name, bytes);
      }
    };
    const listed = await talk.ask({ list_services: '' });
    const names = services ?? (listed.list_services_response?.service ?? []).map((s) => s.name).filter((n) => !/^grpc\.(reflection|health)\./.test(n));
    for (const name of names) addFiles(await talk.ask({ file_containing_symbol: name }), `service ${name}`);
    // Servers usually send every import along; ask for any they did not (except the well-known types bundled here).
    for (let pass = 0; pass < 50; pass++) {
      const missing = [...files.values()]
        .flatMap((bytes) => (FileDescriptorProto.decode(bytes) as unknown as FileProto).dependency ?? [])
        .filter((dep) => !files.has(dep) && !isBundled(dep));
      if (missing.length === 0) break;
      for (const dep of new Set(missing)) addFiles(await talk.ask({ file_by_filename: dep }), `file ${dep}`);
    }
    return files;
  } finally {
    talk.close();
  }
}

function isBundled(file: string): boolean {
  return Object.prototype.hasOwnProperty.call(protobuf.common, file) || Boolean(protobuf.common.get(file));
}

function rootOf(files: Map<string, Uint8Array>): protobuf.Root {
  const decoded = [...files.values()].map((bytes) => FileDescriptorProto.decode(bytes));
  const root = protobuf.Root.fromDescriptor({ file: decoded } as never);
  const present = new Set(files.keys());
  const bundledNeeded = new Set(
    decoded.flatMap((f) => (f as unknown as FileProto).dependency ?? []).filter((dep) => !present.has(dep) && isBundled(dep)),
  );
  // Root.load of a bundled name adds its JSON form without touching the disk.
  for (const file of bundledNeeded) root.loadSync(file, PARSE_OPTIONS);
  root.resolveAll();
  return root;
}

export interface ReflectionOptions {
  timeoutMs: number;
  services?: string[];
  /** Attempts while the service comes up (first included), with doubling waits from 250 ms. */
  attempts?: number;
}

export async function loadFromReflection(upstream: GrpcUpstream, options: ReflectionOptions): Promise<protobuf.Root> {
  const attempts = options.attempts ?? 5;
  let last: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(250 * 2 ** (attempt - 1));
    for (const path of PATHS) {
      try {
        const files = await filesVia(upstream, path, options.timeoutMs, options.services);
        try {
          return rootOf(files);
        } catch (error) {
          // The server answered; its definitions do not build. Retrying will not change that.
          throw Object.assign(new Error(`the definitions from reflection do not build: ${protobufMessage(error)}`), { final: true });
        }
      } catch (error) {
        if ((error as { final?: boolean }).final) throw error;
        last = error as Error;
        // UNIMPLEMENTED: this server has no v1 reflection; try v1alpha. Anything else: wait and retry.
        if ((error as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) break;
        if (path === PATHS[PATHS.length - 1]) throw new Error('the upstream does not offer server reflection (grpc.reflection.v1 or v1alpha); give the .proto files in `source` instead');
      }
    }
  }
  throw new Error(`server reflection failed after ${attempts} attempts: ${last?.message ?? 'no answer'}`);
}
