-- tempfail.lua - the spool cannot take the mail (a 1 MiB spool and a
-- 1.5 MiB mail): 451 4.3.0, so the MTA keeps the mail and retries.
dofile(os.getenv("TODOKE_LUA_DIR") .. "/common.lua")
local conn = start_and_connect("-o", "spool.map_size=1048576")
send(conn, "<d@example.org>", "<vuln-info@localhost>", {
	{ "From", "d@example.org" }, { "Subject", "fills the spool" },
}, string.rep(string.rep("x", 1022) .. "\r\n", 1536))
expect(mt.getreply(conn) == SMFIR_REPLYCODE, "a reply code at EOM (tempfail)")
mt.disconnect(conn)
