-- discard.lua - milter.after_capture = discard: a mail only for the desk is
-- discarded once spooled; a mail that also goes to someone else keeps
-- going, with only the desk recipient removed.
dofile(os.getenv("TODOKE_LUA_DIR") .. "/common.lua")
local conn = start_and_connect("-o", "milter.after_capture=discard")

send(conn, "<d@example.org>", "<vuln-info@localhost>", {
	{ "From", "d@example.org" }, { "Subject", "desk only" },
}, "report\r\n")
expect(mt.getreply(conn) == SMFIR_DISCARD, "a desk-only mail is discarded")

expect(mt.mailfrom(conn, "<d@example.org>") == nil, "MAIL")
expect(mt.rcptto(conn, "<vuln-info@localhost>") == nil, "RCPT desk")
expect(mt.rcptto(conn, "<alice@elsewhere.example>") == nil, "RCPT other")
expect(mt.data(conn) == nil, "DATA")
expect(mt.header(conn, "Subject", "shared") == nil, "header")
expect(mt.eoh(conn) == nil, "EOH")
expect(mt.bodystring(conn, "report\r\n") == nil, "body")
expect(mt.eom(conn) == nil, "EOM")
expect(mt.getreply(conn) == SMFIR_CONTINUE, "a shared mail goes on")
expect(mt.eom_check(conn, MT_RCPTDELETE, "<vuln-info@localhost>"),
       "the desk recipient is removed")
expect(not mt.eom_check(conn, MT_RCPTDELETE, "<alice@elsewhere.example>"),
       "the other recipient stays")
mt.disconnect(conn)
