-- size.lua - over limits.message_size (set to 4096 by the wrapper): a
-- permanent 552 5.3.4 that names the limit.
dofile(os.getenv("TODOKE_LUA_DIR") .. "/common.lua")
local conn = start_and_connect("-o", "limits.message_size=4096")
send(conn, "<d@example.org>", "<vuln-info@localhost>", {
	{ "From", "d@example.org" }, { "Subject", "big" },
}, string.rep("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 100))
expect(mt.getreply(conn) == SMFIR_REPLYCODE, "a reply code at EOM")
mt.disconnect(conn)
