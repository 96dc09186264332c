// login, logout, whoami.
import { parse } from '../args.js';
import type { Command } from '../context.js';
import { usage } from '../errors.js';
import { formatTime } from '../output.js';
import { removeToken, saveToken, tokenFile } from '../token.js';

const LOGIN_USAGE = `usage: kanade login [--username <name>] [--password-stdin] [--code <123456>] [--print]

Signs in with a username and password and saves the token in ~/.config/kanade/token (0600),
where every other command finds it. The password comes from stdin with --password-stdin,
else from $KANADE_PASSWORD, else from a prompt. --print also writes the token to stdout
(export KANADE_AUTH_TOKEN=$(kanade login --print ...)).`;

interface LoginResponse {
  token: string;
  role: string;
  must_change_pw: boolean;
  exp: number;
  expires_at: string;
}

export const login: Command = {
  summary: 'sign in and keep the token for the other commands',
  usage: LOGIN_USAGE,
  async run(ctx, argv) {
    const p = parse(
      argv,
      {
        username: { type: 'string', short: 'u' },
        'password-stdin': { type: 'boolean' },
        code: { type: 'string' },
        print: { type: 'boolean' },
      },
      LOGIN_USAGE,
    );
    const username =
      p.opt('username') ??
      p.positionals[0] ??
      ctx.env.KANADE_USERNAME ??
      (await ctx.prompt('username: ', false));
    if (!username) throw usage('no username: pass --username', LOGIN_USAGE);
    let password: string | undefined;
    if (p.flag('password-stdin')) password = (await ctx.readStdin()).replace(/\r?\n$/, '');
    else password = ctx.env.KANADE_PASSWORD ?? (await ctx.prompt(`password for ${username}: `, true));
    if (!password) throw usage('no password: use --password-stdin or a terminal', LOGIN_USAGE);
    const code = p.opt('code');
    const r = await ctx.api.post<LoginResponse>('/api/auth/login', {
      username,
      password,
      ...(code ? { code } : {}),
    });
    const file = saveToken(ctx.env, r.data.token);
    if (p.flag('print')) ctx.out.raw(`${r.data.token}\n`);
    ctx.out.emit(
      {
        username,
        role: r.data.role,
        expires_at: r.data.expires_at,
        must_change_pw: r.data.must_change_pw,
        token_file: file,
      },
      () => {
        if (!p.flag('print'))
          ctx.out.line(`signed in as ${username} (${r.data.role}) until ${formatTime(r.data.expires_at)}`);
        ctx.out.note(`token saved to ${file}`);
      },
    );
    if (r.data.must_change_pw)
      ctx.out.note(
        'this account must change its password: do it in the dashboard (Account page) before other calls',
      );
    return undefined;
  },
};

const LOGOUT_USAGE = 'usage: kanade logout\n\nForgets the token `kanade login` saved.';

export const logout: Command = {
  summary: 'forget the saved token',
  usage: LOGOUT_USAGE,
  async run(ctx, argv) {
    parse(argv, {}, LOGOUT_USAGE);
    const removed = removeToken(ctx.env);
    ctx.out.emit({ removed, token_file: tokenFile(ctx.env) }, () =>
      ctx.out.line(removed ? `removed ${tokenFile(ctx.env)}` : 'no saved token'),
    );
    return undefined;
  },
};

const WHOAMI_USAGE = 'usage: kanade whoami\n\nShows the account the current token signs in as.';

export const whoami: Command = {
  summary: 'show who the current token is',
  usage: WHOAMI_USAGE,
  async run(ctx, argv) {
    parse(argv, {}, WHOAMI_USAGE);
    const r = await ctx.api.get<{ username: string; role: string; allowed_features: string[] | null }>(
      '/api/auth/me',
    );
    ctx.out.emit(r.data, () =>
      ctx.out.line(
        `${r.data.username} (${r.data.role}${r.data.allowed_features ? `; pages: ${r.data.allowed_features.join(', ')}` : ''})`,
      ),
    );
    return undefined;
  },
};
