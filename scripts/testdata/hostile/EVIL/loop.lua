-- an endless loop.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        while true do end
      end,
      next = { { done = 0 } },
    },
  },
}
