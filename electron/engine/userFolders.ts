// Where tsmedia keeps its files for this user: logs and caches, in each platform's own place for them.
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** %LOCALAPPDATA%, else its usual place under the profile. */
function localAppData(env: NodeJS.ProcessEnv, home: string): string {
  return env.LOCALAPPDATA && env.LOCALAPPDATA.trim() !== '' ? env.LOCALAPPDATA : win32.join(home, 'AppData', 'Local');
}

/** An XDG base directory from `variable`, else `fallback` under the home folder (the specification ignores a relative path). */
function xdg(env: NodeJS.ProcessEnv, variable: string, fallback: string, home: string): string {
  const v = env[variable];
  return v && posix.isAbsolute(v) ? v : posix.join(home, fallback);
}

/** Where tsmedia keeps its logs for this user. */
export function userLogFolder(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return win32.join(localAppData(env, home), 'tsmedia', 'Logs');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Logs', 'tsmedia');
  return posix.join(xdg(env, 'XDG_STATE_HOME', '.local/state', home), 'tsmedia', 'logs');
}

/** Where tsmedia keeps caches for this user (the platform's cache folder). */
export function userCacheFolder(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return win32.join(localAppData(env, home), 'tsmedia', 'Cache');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Caches', 'tsmedia');
  return posix.join(xdg(env, 'XDG_CACHE_HOME', '.cache', home), 'tsmedia');
}
