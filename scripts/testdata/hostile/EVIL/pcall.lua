-- a loop that swallows its own errors.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        while true do pcall(function() while true do end end) end
      end,
      next = { { done = 0 } },
    },
  },
}
