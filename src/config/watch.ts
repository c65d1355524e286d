/**
 * Hot reload of the configuration file. A bad reload reports why and keeps
 * the last good configuration; the watcher itself never throws.
 *
 * It watches the directory, not the file: editors that save by writing a
 * temporary file and renaming it over the original (vim, VS Code, `sed -i`),
 * and Kubernetes ConfigMaps (a symlink swap), replace the inode, which a
 * file watch would lose. Any event in the directory schedules a debounced
 * read; only changed text is parsed.
 */
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, parseConfig } from './load.js';
import type { SwitchyardConfig } from './schema.js';

/** Options of {@link watchConfig}. */
export interface WatchConfigOptions {
  /** Environment for `${VAR}` substitution; defaults to `process.env` (read at each reload). */
  env?: NodeJS.ProcessEnv;
  /** Quiet time after the last file event before reading; default 100 ms. */
  debounceMs?: number;
}

/** A running watch; see {@link watchConfig}. */
export interface ConfigWatcher {
  /**
   * Re-reads the file now (wire SIGHUP here). On success calls `onChange`
   * (even if the text is unchanged) and returns the new configuration; on
   * failure calls `onError` and returns `undefined`.
   */
  reload(): SwitchyardConfig | undefined;
  /** The last good configuration, if any load succeeded. */
  current(): SwitchyardConfig | undefined;
  /** Stops watching; pending reloads are dropped. */
  close(): void;
}

/** How long a vanished file may stay missing before it is reported (a rename-replace in progress). */
const MISSING_GRACE_MS = 250;

/**
 * Watches a configuration file and calls `onChange` with each new valid
 * configuration. The file is read once at start (that load is not reported
 * through `onChange`; a failure is reported through `onError`).
 *
 * @example
 * const watcher = watchConfig('switchyard.yaml', (cfg) => core.setConfig(cfg), (err) => log.warn(err.message));
 * process.on('SIGHUP', () => watcher.reload());
 */
export function watchConfig(
  path: string,
  onChange: (cfg: SwitchyardConfig) => void,
  onError: (err: ConfigError | Error) => void,
  opts: WatchConfigOptions = {},
): ConfigWatcher {
  const file = resolve(path);
  const debounceMs = opts.debounceMs ?? 100;
  let good: SwitchyardConfig | undefined;
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let missingSince: number | undefined;
  let closed = false;

  const report = (err: ConfigError | Error) => {
    try {
      onError(err);
    } catch (e) {
      process.emitWarning(`config watcher: onError threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  /** Reads and parses; `force` parses even unchanged text. Returns the config when it was (re)loaded. */
  const load = (force: boolean, announce: boolean): SwitchyardConfig | undefined => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      report(new ConfigError([{ path: '', message: `cannot read the file, keeping the last good configuration: ${reason}` }], file));
      return undefined;
    }
    if (!force && text === lastText) return undefined;
    lastText = text;
    let cfg: SwitchyardConfig;
    try {
      cfg = parseConfig(text, opts.env ?? process.env, file);
    } catch (err) {
      report(err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
    good = cfg;
    if (announce) {
      try {
        onChange(cfg);
      } catch (err) {
        report(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return cfg;
  };

  const schedule = (ms: number) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(onQuiet, ms);
    timer.unref();
  };

  function onQuiet() {
    if (closed) return;
    if (!existsSync(file)) {
      // A rename-replace may be half done; only a file that stays gone is an error.
      missingSince ??= Date.now();
      if (Date.now() - missingSince < MISSING_GRACE_MS) return schedule(MISSING_GRACE_MS);
    }
    missingSince = undefined;
    load(false, true);
  }

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, () => schedule(debounceMs));
    watcher.on('error', (err) => report(err));
  } catch (err) {
    report(err instanceof Error ? err : new Error(String(err)));
  }
  load(true, false);

  return {
    reload: () => (closed ? undefined : load(true, true)),
    current: () => good,
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
