-- PARK (BLOCK_AND_READ_CARD): mark the card parked, keep its balance on
-- the server and return it. The park write is marked in the ledger before
-- it leaves (park_sent), so that when its answer is lost and the operation
-- ends, the next PARK finds the card parked by that write and completes
-- the park instead of answering 160.
return {
  start = "ledger",
  steps = common.steps(
    common.ledger("poll"),
    common.poll("read"),
    common.read_card("checks", false),
    common.card_checks("park", {
      { when = "vars.status == 1 && card.parkPending", go = "parked" },
    }),
    {
      park = {
        run = function(ctx)
          local v = ctx.vars
          local info = bin.set(bin.unhex(v.info), 0, bin.put_le(1, 1))
          felica.write{ as = "write", blocks = {
            { common.INFO_RW, 0, info },
            { common.HISTORY_RW, 0, common.history_record(common.PARK, 0, v.balance, v.counter, ctx.now) },
          } }
          effect.park_sent{ balance = v.balance, counter = v.counter }
        end,
        next = {
          { when = "resp.write.ok", go = "parked" },
          { when = "resp.write.answered && resp.write.valid", fail = 911, message = "card refused to park" },
          { go = "verify" },
        },
      },

      -- verify: the write's answer was lost or garbled; the card's status
      -- says whether it applied it. Parking leaves the balance as it was.
      verify = common.reread{
        { when = "resp.card.ok && len(resp.card.blocks) == 2 && vars.status == 1", go = "parked" },
        { when = "resp.card.ok && len(resp.card.blocks) == 2", fail = 911, message = "card was not parked" },
        { fail = 911, message = "cannot tell whether the card was parked" },
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
