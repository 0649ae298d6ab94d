-- accept.lua - a reply to the contact address is spooled and accepted; the
-- case number is added as a header, a forged trust header is deleted.
dofile(os.getenv("TODOKE_LUA_DIR") .. "/common.lua")
local conn = start_and_connect()
mt.macro(conn, SMFIC_MAIL, "i", "4ABC123")
send(conn, "<op@operator.example>", "<Vuln-Contact@localhost>", {
	{ "From", "op@operator.example" },
	{ "X-Todoke-Case", "IPA#99999999" },
	{ "Subject", "=?ISO-2022-JP?B?GyRCJCpMZCQkOWckbyQ7GyhC?= [IPA#00000123]" },
}, "Thank you.\r\n")
expect(mt.getreply(conn) == SMFIR_CONTINUE, "accept (continue) at EOM")
expect(mt.eom_check(conn, MT_HDRADD, "X-Todoke-Case", "IPA#00000123"),
       "X-Todoke-Case: IPA#00000123 added")
expect(mt.eom_check(conn, MT_HDRADD, "X-Todoke-Class", "reply"),
       "X-Todoke-Class: reply added")
expect(mt.eom_check(conn, MT_HDRDELETE, "X-Todoke-Case"),
       "the forged X-Todoke-Case deleted")
mt.disconnect(conn)
