/**
 * Loads an optional heavy package (node-llama-cpp for the sidecar,
 * @xenova/transformers for the transformers embedder) only when a feature
 * needs it. They are optional peer dependencies: `npm install` from a clone
 * leaves them out, and the one user who needs one gets a one-line error
 * naming the exact install command.
 */

/** The optional packages and the versions the project is tested with. */
export const OPTIONAL_PACKAGES = {
  'node-llama-cpp': { version: '3.22.1', feature: 'the local llama.cpp sidecar (`switchyard sidecar`)' },
  '@xenova/transformers': { version: '2.17.2', feature: 'the `transformers` embedder' },
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** The command that installs an optional package at the tested version, without touching package.json or the lock. */
export function installCommand(name: OptionalPackage): string {
  return `npm install --no-save ${name}@${OPTIONAL_PACKAGES[name].version}`;
}

/** An optional package is not installed. The message is one line naming the install command. */
export class MissingOptionalPackageError extends Error {
  readonly code = 'ERR_SWITCHYARD_OPTIONAL_PACKAGE';
  constructor(readonly packageName: OptionalPackage, cause?: unknown) {
    super(`${OPTIONAL_PACKAGES[packageName].feature} needs the optional package ${packageName}: run \`${installCommand(packageName)}\``, { cause });
    this.name = 'MissingOptionalPackageError';
  }
}

/** True when the error says the package itself (not one of its own files) could not be found. */
function isNotFound(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return false;
  return typeof e.message === 'string' && e.message.includes(`'${name}'`);
}

/**
 * Imports an optional package. The specifier is a variable, so TypeScript does not
 * need the package's types at build time: callers describe the small part of
 * the API they use as `T`.
 *
 * @example
 * const lib = await importOptional<TransformersApi>('@xenova/transformers');
 * // without the package: MissingOptionalPackageError
 * //   "the `transformers` embedder needs the optional package @xenova/transformers: run `npm install --no-save @xenova/transformers@2.17.2`"
 */
export async function importOptional<T>(name: OptionalPackage): Promise<T> {
  const specifier: string = name;
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    if (isNotFound(err, name)) throw new MissingOptionalPackageError(name, err);
    throw err;
  }
}
