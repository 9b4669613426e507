-- owner_only.lua: only the player who started a session may reconnect it, and
-- at most MAX_RECONNECTS times (a client stuck in a reconnect loop, or a token
-- that leaked, cannot burn the account's budget on one session forever).
--
--   glsrun serve examples/policies/owner_only.lua
local MAX_RECONNECTS = 3

return {
  name = "owner_only",

  on_reconnect = function(ctx)
    local session, who = ctx.session, ctx.requester
    if who.id == nil or (session.owner ~= nil and who.id ~= session.owner) then
      return { action = "reject", reason = "not the session's owner" }
    end
    if session.reconnects >= MAX_RECONNECTS then
      return { action = "reject", reason = ("reconnect limit reached (%d)"):format(MAX_RECONNECTS) }
    end
    return { action = "reconnect" }
  end,
}
