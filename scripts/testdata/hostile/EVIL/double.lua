-- a string doubled without end.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "x"
        while true do s = s .. s end
      end,
      next = { { done = 0 } },
    },
  },
}
