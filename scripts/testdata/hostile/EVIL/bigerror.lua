-- an error whose message is a megabyte.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "x"
        for _ = 1, 20 do s = s .. s end
        error(s)
      end,
      next = { { done = 0 } },
    },
  },
}
