-- Session revocation and TOTP replay refusal, both on the durable `users`
-- table (kept by wipe-projector, which copies every column).
-- sessions_valid_after: epoch ms of the account's last credential change
-- (password, TOTP secret, disabled flag) or "sign out everywhere"; a session
-- token issued before it is refused (http/auth.ts: to the millisecond by the
-- token's iat_ms, or by whole seconds for a token without it). 0 = never.
-- totp_last_step: the 30 s TOTP time step of the last code accepted at
-- sign-in; a code whose step is not greater is refused (services/accounts.ts).
ALTER TABLE users ADD COLUMN sessions_valid_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
