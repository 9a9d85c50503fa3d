-- paced.lua: the shared prov.lua, with a pause before each request, so a
-- "good" client stays at a phone-like rate (connections × 1000 / PACE_MS per
-- second) instead of as fast as the server answers.
dofile(os.getenv("PROV_LUA"))
local pace = tonumber(os.getenv("PACE_MS") or "2")
function delay()
  return pace
end
