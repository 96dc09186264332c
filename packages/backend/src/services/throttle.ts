// Login throttle, upstream's rules: 5 consecutive failures lock a username
// for 15 minutes whatever the source IP (a success clears the streak), and
// one IP may fail at most 30 times in any 60 seconds. A throttled attempt is
// refused before the password is checked, with the seconds to wait.
//
// The state is in memory, so it is per backend replica. The interface is
// async so issue #10 can move it to NATS KV without touching its callers.

export interface LoginThrottle {
  /** Seconds until `username`/`ip` may try again, or undefined when allowed. */
  retryAfter(username: string, ip: string): Promise<number | undefined>;
  failure(username: string, ip: string): Promise<void>;
  success(username: string): Promise<void>;
}

export const THROTTLE = {
  userFailures: 5,
  userLockMs: 15 * 60 * 1000,
  ipFailures: 30,
  ipWindowMs: 60 * 1000,
  /** Prune expired entries once a map holds more keys than this. */
  maxKeys: 4096,
} as const;

interface UserState {
  streak: number;
  lockedUntil: number;
}

export function createLoginThrottle(now: () => number = Date.now): LoginThrottle {
  const users = new Map<string, UserState>();
  const ips = new Map<string, number[]>();
  const userKey = (u: string) => u.toLowerCase();

  function recentIpFailures(ip: string, t: number): number[] {
    const times = (ips.get(ip) ?? []).filter((x) => t - x < THROTTLE.ipWindowMs);
    if (times.length) ips.set(ip, times);
    else ips.delete(ip);
    return times;
  }

  function prune(t: number) {
    if (users.size > THROTTLE.maxKeys) {
      for (const [k, s] of users) if (s.lockedUntil <= t) users.delete(k);
    }
    if (ips.size > THROTTLE.maxKeys) for (const ip of [...ips.keys()]) recentIpFailures(ip, t);
  }

  return {
    async retryAfter(username, ip) {
      const t = now();
      let wait = 0;
      const u = users.get(userKey(username));
      if (u && u.lockedUntil > t) wait = u.lockedUntil - t;
      const times = recentIpFailures(ip, t);
      if (times.length >= THROTTLE.ipFailures) {
        // Allowed again once enough of the window's failures have aged out.
        const oldestThatMustExpire = times[times.length - THROTTLE.ipFailures]!;
        wait = Math.max(wait, oldestThatMustExpire + THROTTLE.ipWindowMs - t);
      }
      return wait > 0 ? Math.ceil(wait / 1000) : undefined;
    },
    async failure(username, ip) {
      const t = now();
      const key = userKey(username);
      const u = users.get(key) ?? { streak: 0, lockedUntil: 0 };
      if (u.lockedUntil && u.lockedUntil <= t) {
        u.streak = 0;
        u.lockedUntil = 0;
      }
      u.streak++;
      if (u.streak >= THROTTLE.userFailures) u.lockedUntil = t + THROTTLE.userLockMs;
      users.set(key, u);
      const times = recentIpFailures(ip, t);
      times.push(t);
      ips.set(ip, times);
      prune(t);
    },
    async success(username) {
      users.delete(userKey(username));
    },
  };
}
