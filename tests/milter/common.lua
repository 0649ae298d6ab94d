-- common.lua - shared by the miltertest scripts: start todoke-milter as the
-- wrapper (tests/integration/miltertest.t) configured it, and connect.
-- The wrapper sets TODOKE_MILTER, TODOKE_CONF and TODOKE_SOCKET.

function start_and_connect(...)
	local binary = os.getenv("TODOKE_MILTER")
	local conf = os.getenv("TODOKE_CONF")
	local socket = os.getenv("TODOKE_SOCKET")
	mt.startfilter(binary, "-f", "-c", conf, ...)
	local conn = mt.connect(socket, 80, 0.25)
	if conn == nil then
		error("cannot connect to " .. socket)
	end
	-- todoke-milter negotiates the connect step away (SMFIP_NOCONNECT),
	-- so no mt.conninfo here.
	return conn
end

function expect(cond, what)
	if not cond then
		error("expected: " .. what)
	end
end

-- Sends one message; returns after end-of-message.
function send(conn, from, rcpt, headers, body)
	expect(mt.mailfrom(conn, from) == nil, "MAIL accepted")
	expect(mt.rcptto(conn, rcpt) == nil, "RCPT accepted")
	expect(mt.data(conn) == nil, "DATA sent")
	if mt.getreply(conn) == SMFIR_ACCEPT then
		return
	end
	for _, h in ipairs(headers) do
		expect(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
	end
	expect(mt.eoh(conn) == nil, "EOH")
	-- the milter protocol carries at most 64 KiB per body chunk
	local chunk = 60000
	for i = 1, #body, chunk do
		expect(mt.bodystring(conn, string.sub(body, i, i + chunk - 1)) == nil, "body")
	end
	expect(mt.eom(conn) == nil, "EOM")
end
