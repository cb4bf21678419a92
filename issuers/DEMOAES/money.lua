-- TOPUP and REFUND: move a purchase's amount onto or off the card, exactly
-- once. The balance block and its history record travel in one Write v2,
-- which the card applies all or nothing; an answer that does not
-- authenticate counts as lost, and the balance is read back (Read v2).
return {
  start = "ledger",
  steps = common.steps(
    common.ledger("poll"),
    common.poll("probe"),
    common.probe("auth"),
    common.auth("read"),
    common.read_card("checks", false),
    common.card_checks("purchase"),
    {
      purchase = {
        next = {
          { when = "!purchase.found || purchase.cardId != request.cardId", fail = 911, message = "no such purchase for this card" },
          { when = "purchase.status == 'APPLIED' || vars.settled == 'APPLIED'", fail = 911, message = "purchase already applied" },
          { when = "purchase.kind != request.operation", fail = 911, message = "purchase is of another kind" },
          { when = "request.operation == 'TOPUP' && vars.product == settings.productStaff", fail = 163, message = "staff cards may not top up" },
          { when = "request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance", fail = 163, message = "top-up would pass the maximum balance" },
          { when = "request.operation == 'REFUND' && purchase.amount > vars.balance", fail = 162 },
          { go = "write" },
        },
      },

      write = {
        run = function(ctx)
          local v, p = ctx.vars, ledger.purchase()
          local change, kind = p.amount, common.TOPUP
          if ctx.request.operation == "REFUND" then
            change, kind = -p.amount, common.REFUND
          end
          v.newBalance = v.balance + change
          v.newCounter = v.counter + 1
          sam.write{ as = "write", blocks = {
            { common.BALANCE, 0, common.balance_block(v.newBalance, v.newCounter) },
            { common.HISTORY, 0, common.history_record(kind, change, v.newBalance, v.newCounter, ctx.now) },
          } }
          effect.write_sent{ purchase = p.id, counter = v.newCounter }
        end,
        next = {
          { when = "resp.write.ok", go = "applied" },
          { when = "resp.write.answered", go = "refused" },
          { go = "verify" },
        },
      },

      -- verify: the write's answer was lost or did not authenticate; the
      -- counter, read over the session, says whether the card applied it.
      verify = common.reread({
        { when = "resp.balance.ok && le(block(resp.balance, 0), 4, 2) == vars.newCounter && le(block(resp.balance, 0), 0, 4) == vars.newBalance", go = "applied" },
        { when = "resp.balance.ok && le(block(resp.balance, 0), 4, 2) < vars.newCounter", go = "refused" },
        { fail = 911, message = "cannot tell whether the write was applied" },
      }),

      applied = {
        run = function(ctx)
          effect.purchase_applied{ purchase = ctx.request.purchaseId }
          effect.record_balance{ balance = ctx.vars.newBalance, counter = ctx.vars.newCounter }
        end,
        next = { { done = 0, balance = "vars.newBalance" } },
      },

      refused = {
        run = function(ctx)
          effect.purchase_pending{ purchase = ctx.request.purchaseId }
        end,
        next = { { fail = 911, message = "card refused the write" } },
      },
    }
  ),
}
