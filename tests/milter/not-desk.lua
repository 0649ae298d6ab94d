-- not-desk.lua - mail with no desk recipient is handed back at DATA, and so
-- is the desk's own notice (from the bounce address) even to the control
-- address; a next message on the same connection is still captured.
dofile(os.getenv("TODOKE_LUA_DIR") .. "/common.lua")
local conn = start_and_connect()
send(conn, "<a@example.org>", "<someone@example.net>", {}, "")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "accept at DATA for foreign mail")
send(conn, "<vuln-bounce+n7@localhost>", "<vuln-control@localhost>", {}, "")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "accept at DATA for the desk's own notice")
send(conn, "<d@example.org>", "<vuln-info@localhost>", {
	{ "From", "d@example.org" }, { "Subject", "new report" },
}, "details\r\n")
expect(mt.getreply(conn) == SMFIR_CONTINUE, "desk mail on the same connection captured")
expect(mt.eom_check(conn, MT_HDRADD, "X-Todoke-Class", "report"), "class report")
mt.disconnect(conn)
