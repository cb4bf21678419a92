-- PARK (BLOCK_AND_READ_CARD): mark the card parked, keep its balance on
-- the server and return it.
return {
  start = "ledger",
  steps = common.steps(
    common.ledger("poll"),
    common.poll("read"),
    common.read_card("checks", false),
    common.card_checks("park"),
    {
      park = {
        run = function(ctx)
          local v = ctx.vars
          local info = bin.set(bin.unhex(v.info), 0, bin.put_le(1, 1))
          felica.write{ as = "write", blocks = {
            { common.INFO_RW, 0, info },
            { common.HISTORY_RW, 0, common.history_record(common.PARK, 0, v.balance, v.counter, ctx.now) },
          } }
        end,
        next = {
          { when = "resp.write.ok", go = "parked" },
          { fail = 911, message = "card refused to park" },
        },
      },
      parked = {
        run = function(ctx)
          effect.park_card{ balance = ctx.vars.balance }
          effect.record_balance{ balance = ctx.vars.balance, counter = ctx.vars.counter }
        end,
        next = { { done = 0, balance = "vars.balance" } },
      },
    }
  ),
}
