/**
 * Argument parsers and the one error path of the `switchyard` command: a bad
 * flag, a bad value, a missing file, an invalid config or a missing optional
 * package ends with one line on stderr and exit code 2, never a stack trace
 * (set SWITCHYARD_DEBUG=1 to see one for unexpected errors, which exit 1).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/load.js';
import { mockFaultSchema, type MockFault } from '../config/mock.js';
import { MissingOptionalPackageError } from '../optional-module.js';

/**
 * A whole number within bounds, for commander's argument parsers.
 *
 * @example
 * program.option('-p, --port <n>', 'port', intArg(0, 65535));
 */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`);
    }
    return n;
  };
}

/** A TCP port (0 = any free one). */
export const portArg = intArg(0, 65535);

/** A readable regular file; `allowStdin` lets `-` through. */
export function fileArg(allowStdin = false): (v: string) => string {
  return (v) => {
    if (allowStdin && v === '-') return v;
    let isFile = false;
    try {
      isFile = statSync(v).isFile();
      accessSync(v, constants.R_OK);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new InvalidArgumentError(code === 'ENOENT' ? `no such file: ${v}` : `cannot read ${v} (${code ?? String(e)})`);
    }
    if (!isFile) throw new InvalidArgumentError(`not a file: ${v}`);
    return v;
  };
}

/** A mock fault: an HTTP status 400–599, `timeout`, `disconnect` or `truncate`. */
export function faultArg(v: string): MockFault {
  const parsed = mockFaultSchema.safeParse(/^\d+$/.test(v) ? Number(v) : v);
  if (!parsed.success) throw new InvalidArgumentError('expected an HTTP status 400-599, timeout, disconnect or truncate');
  return parsed.data;
}

/** The first line of an error's message. */
function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}

/**
 * Ends the process for an error that reached the command line.
 *
 * @example
 * await program.parseAsync(process.argv).catch(exitOnError);
 */
export function exitOnError(e: unknown): never {
  if (e instanceof CommanderError) {
    // commander has printed the message (or the help) already.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (e instanceof ConfigError) {
    process.stderr.write(`switchyard: invalid configuration\n${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof MissingOptionalPackageError) {
    process.stderr.write(`switchyard: ${e.message}\n`);
    process.exit(2);
  }
  const err = e as { code?: string; path?: string; syscall?: string };
  if ((err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') && err.path) {
    process.stderr.write(`switchyard: cannot ${err.syscall ?? 'open'} ${err.path}: ${err.code === 'ENOENT' ? 'no such file' : err.code}\n`);
    process.exit(2);
  }
  if (err?.code === 'EADDRINUSE') {
    process.stderr.write(`switchyard: ${oneLine(e)} (the port is taken: choose another with --port)\n`);
    process.exit(2);
  }
  process.stderr.write(`switchyard: ${oneLine(e)}\n`);
  if (process.env.SWITCHYARD_DEBUG) process.stderr.write(`${e instanceof Error ? e.stack : ''}\n`);
  process.exit(1);
}
