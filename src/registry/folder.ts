/**
 * The folder registry: the descriptor files under the folders (or the files)
 * gateway.yaml's `descriptors:` names, read as `tessera check` and start-up
 * read them (config/load.ts), and watched with node:fs watch. Any file event
 * under a watched folder (a descriptor, or a schema file one names; created,
 * changed, renamed, deleted) counts, except in dot-folders, dot-files (editor
 * swap files) and node_modules, but the update of a mounted Kubernetes
 * ConfigMap (its `..` folders) counts; a burst of events gives one call after `debounceMs` of
 * quiet.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { displayPath, loadDescriptors } from '../config/load.js';
import type { Descriptor } from '../config/descriptor.js';
import type { Logger } from '../logger.js';
import type { Registry } from './index.js';

export interface FolderRegistryOptions {
  /** gateway.yaml's `descriptors:` (folders or files, relative to `baseDir`). */
  locations: string | string[];
  baseDir: string;
  /** gateway.yaml's path, for problems about `descriptors:` itself. */
  configFile: string;
  env: NodeJS.ProcessEnv;
  debounceMs: number;
  logger: Logger;
}

/**
 * A path inside a watched folder that is not a descriptor's business:
 * dot-files and dot-folders, node_modules. Except the kubelet's: a
 * Kubernetes ConfigMap mounted as a folder is updated by writing every file
 * into a new hidden folder (`..2026_12_06_07_00_00.123`) and renaming a
 * `..data` link onto it; the keys are links through `..data`. Those events,
 * at the top of the watched folder, are changes (Node 20's recursive watch
 * on Linux reports the new folder and its files, not the link's rename).
 */
function ignored(path: string): boolean {
  if (path.startsWith('..') && !path.startsWith(`..${sep}`)) return false;
  return path.split(/[\\/]/).some((part) => part.startsWith('.') || part === 'node_modules');
}

export function folderRegistry(options: FolderRegistryOptions): Registry {
  const { baseDir, configFile, env, debounceMs, logger } = options;
  const locations = (Array.isArray(options.locations) ? options.locations : [options.locations]).map((l) => resolve(baseDir, l));
  return {
    description: `folder ${locations.map(displayPath).join(', ')}`,
    async load(): Promise<Descriptor[]> {
      return loadDescriptors(options.locations, baseDir, configFile, env);
    },
    watch(onChange) {
      const watchers: FSWatcher[] = [];
      const changed = new Set<string>();
      let timer: NodeJS.Timeout | undefined;
      const heard = (folder: string, path: string): void => {
        if (ignored(relative(folder, path))) return;
        changed.add(displayPath(path));
        clearTimeout(timer);
        timer = setTimeout(() => {
          const files = [...changed].sort();
          changed.clear();
          onChange(`changed: ${files.join(', ')}`);
        }, debounceMs);
      };
      for (const location of locations) {
        let isFolder: boolean;
        try {
          isFolder = statSync(location).isDirectory();
        } catch (error) {
          logger.warn({ err: error, location: displayPath(location) }, 'descriptors location not watched: it cannot be read; reload with SIGHUP or POST /admin/reload once it exists');
          continue;
        }
        // A single file is watched through its folder: editors replace a file (a rename), which ends a watch on the file itself.
        const folder = isFolder ? location : dirname(location);
        const only = isFolder ? undefined : basename(location);
        const watcher = watch(folder, { recursive: isFolder, persistent: false }, (_event, name) => {
          const file = name === null ? folder : resolve(folder, name.toString());
          if (only !== undefined && basename(file) !== only) return;
          heard(folder, file);
        });
        watcher.on('error', (error) => {
          logger.error({ err: error, folder: displayPath(folder) }, 'descriptors folder watch stopped; changes are no longer picked up: reload with SIGHUP or POST /admin/reload, or restart');
          watcher.close();
        });
        watchers.push(watcher);
      }
      return () => {
        clearTimeout(timer);
        for (const watcher of watchers) watcher.close();
      };
    },
  };
}
