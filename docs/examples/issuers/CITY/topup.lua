-- TOPUP: add a purchase's amount to the purse, exactly once.
return {
  start = "ledger",
  steps = city.steps(city.start("purchase"), {
    purchase = {
      next = {
        { when = "!purchase.found || purchase.cardId != request.cardId || purchase.kind != 'TOPUP'", fail = 911, message = "no such top-up for this card" },
        { when = "purchase.status == 'APPLIED'", fail = 911, message = "purchase already applied" },
        { when = "vars.balance + purchase.amount > settings.maxBalance", fail = 163 },
        { go = "write" },
      },
    },
    write = {
      run = function(ctx)
        local v, p = ctx.vars, ledger.purchase()
        v.newBalance, v.newCounter = v.balance + p.amount, v.counter + 1
        felica.write{ as = "write", blocks = {
          { city.PURSE_RW, 0, bin.block(bin.put_le(v.newBalance, 4), bin.put_le(v.newCounter, 2)) },
        } }
        effect.write_sent{ purchase = p.id, counter = v.newCounter }
      end,
      next = {
        { when = "resp.write.ok", go = "applied" },
        { when = "resp.write.answered && resp.write.valid", go = "refused" },
        { go = "verify" },
      },
    },
    verify = {
      run = function(ctx) felica.read{ as = "purse", blocks = { { city.PURSE_RO, 0 } } } end,
      next = {
        { when = "resp.purse.ok && le(block(resp.purse, 0), 4, 2) == vars.newCounter", go = "applied" },
        { when = "resp.purse.ok", go = "refused" },
        { fail = 911, message = "cannot tell whether the write was applied" },
      },
    },
    applied = {
      run = function(ctx)
        effect.purchase_applied{ purchase = ctx.request.purchaseId }
        effect.record_balance{ balance = ctx.vars.newBalance, counter = ctx.vars.newCounter }
      end,
      next = { { done = 0, balance = "vars.newBalance" } },
    },
    refused = {
      run = function(ctx) effect.purchase_pending{ purchase = ctx.request.purchaseId } end,
      next = { { fail = 911, message = "card refused the write" } },
    },
  }),
}
