-- run.lua - runs the script named by TODOKE_SCRIPT and prints why it
-- failed, so the wrapper's log says more than an exit status.
local ok, err = pcall(dofile, os.getenv("TODOKE_SCRIPT"))
if not ok then
	print("FAILED: " .. tostring(err))
	error(err)
end
