-- unpack of a huge range.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local n = select("#", unpack({}, 1, 1e9))
      end,
      next = { { done = 0 } },
    },
  },
}
