-- The name a library knows a colleague by, as its administrator typed it when inviting them. Staff lists show it, so
-- that they never show the account's own name, which would tell an inviter that the address already had an account.
-- NULL for memberships from before: those show the account's name.
ALTER TABLE platform.memberships ADD COLUMN display_name text;
