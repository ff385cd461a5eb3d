/**
 * `${VAR}` and `${VAR:-default}` in string values of a parsed config file.
 * Interpolation runs on parsed values, not on the raw text, so a secret that
 * contains YAML syntax cannot change the structure of the file.
 */
const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface MissingVariable {
  path: string;
  variable: string;
}

export function interpolate(value: unknown, env: NodeJS.ProcessEnv, missing: MissingVariable[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(PATTERN, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      missing.push({ path, variable: name });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, missing, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = interpolate(item, env, missing, path ? `${path}.${key}` : key);
    }
    return out;
  }
  return value;
}
