/**
 * Tessera's programmatic API.
 *
 *   const gateway = await createGateway({ configFile: 'gateway.yaml' });
 *   const { url } = await gateway.listen();
 *   ...
 *   await gateway.close();
 */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { composeSources, type ComposedGraph } from './compose/index.js';
export { loadSource } from './sources/index.js';
export type { LoadedSource, SourceLoader, SourceOptions } from './sources/types.js';
export { loadGatewayFile, loadDescriptorFile } from './config/load.js';
export type { Descriptor, DescriptorInput } from './config/descriptor.js';
export type { GatewayFileConfig, GatewayFileInput } from './config/gateway.js';
export { ERRORS, TesseraError, ConfigError, isTesseraError, isConfigError, type ErrorCode } from './errors.js';
export type { RequestScope } from './request-scope.js';
export type { GatewayContext } from './server/yoga.js';
export { SCHEMA_CHANNEL, type Registry, type ReloadTrigger, type SchemaEvent } from './registry/index.js';
