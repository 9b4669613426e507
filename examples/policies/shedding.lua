-- shedding.lua: in a storm, paying players first. A player's tier comes from
-- the client's attributes ({ tier = "paying" }, set by the front after its own
-- login check). Paying players get the higher priority: when the queue cannot
-- meet every window, the scheduler refuses lower-priority work first, and
-- among equally urgent reconnects it serves them first. A free player's
-- reconnect is refused outright, with a reason the game can show, when the
-- work that would go before it cannot be served before the player's window
-- closes: it never takes room in the queue.
local PAYING, FREE = 10, 0
local MARGIN = 0.5            -- seconds a connection takes, on top of the queue

local function tier(ctx)
  local attrs = ctx.requester.attributes or ctx.session and ctx.session.attributes or {}
  return attrs.tier == "paying" and PAYING or FREE
end

return {
  name = "shedding",

  priority = tier,

  on_reconnect = function(ctx)
    local session, who = ctx.session, ctx.requester
    if session.owner ~= nil and who.id ~= session.owner then
      return { action = "reject", reason = "not the session's owner" }
    end
    if tier(ctx) < PAYING and ctx.deadline_known
        and ctx.now + ctx.queue.wait_ahead + MARGIN > ctx.deadline then
      return { action = "reject", reason = "shed: the reconnect queue cannot serve this request in time" }
    end
    return { action = "reconnect" }
  end,
}
