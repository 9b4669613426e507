-- takeover.lua: a player's new device takes the session over (the phone died,
-- the player picks the stream up on the TV). The runtime tells the old device:
-- a request it still has waiting gets TakenOver (409), and so does every later
-- use of its token. Another player's device is refused.
return {
  name = "takeover",

  on_reconnect = function(ctx)
    local session, who = ctx.session, ctx.requester
    if session.owner ~= nil and who.id ~= session.owner then
      return { action = "reject", reason = "not the session's owner" }
    end
    if who.device ~= nil and session.device ~= nil and who.device ~= session.device then
      gls.log({ takeover = session.arn, from_device = session.device, to_device = who.device })
      return { action = "takeover" }
    end
    return { action = "reconnect" }
  end,
}
